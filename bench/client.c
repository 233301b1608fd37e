/* The benchmark's echo client: compiled, so that it is never the bottleneck.
 *
 * A Python client spends about 85 % of a core on 64-byte ping-pong and would
 * hide the differences between servers; this one drives N connections from
 * one epoll loop at a few microseconds per message.  `python -m bench`
 * builds it with the machine's cc and talks to it over stdin/stdout:
 *
 *   client pingpong HOST PORT CONNS SECONDS SIZE WARMUP
 *       connects CONNS sockets, warms up for WARMUP seconds, prints "start", runs SECONDS of
 *       ping-pong (one SIZE-byte message in flight per connection), prints
 *       "stop messages=M seconds=S cpu=C" (C: the client's own CPU seconds).
 *   client c10k HOST PORT CONNS SIZE [STEP ...]
 *       connects CONNS sockets (each proven accepted by one echo), prints
 *       "held SECONDS" (the time spent opening them), then for every "go"
 *       line on stdin echoes once on all of them at once and prints
 *       "echoed SECONDS"; any other line, or the end of stdin, ends it.
 *       At each STEP (ascending, below CONNS) it pauses on the way: prints
 *       "opened STEP" and goes on at a "more" line, so that the server's
 *       memory can be read with exactly STEP connections open.
 *
 * A socket waits at most TIMEOUT seconds to connect, send or hear its echo:
 * a server that stops accepting makes the client fail, not hang.  Any error
 * prints "error: ..." on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256          /* connections opened before their first echo */
#define MAX_SIZE 65536
#define MAX_STEPS 16
#define TIMEOUT 60         /* seconds a blocking call may wait */

static char payload[MAX_SIZE];
static char sink[MAX_SIZE];

static void die(const char *what)
{
    fprintf(stderr, "error: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void raise_fd_limit(int conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 16) {
        fprintf(stderr, "error: open-file limit %lu is below %d connections\n",
                (unsigned long)rl.rlim_cur, conns);
        exit(1);
    }
}

static int connect_one(struct sockaddr_in *addr)
{
    int one = 1;
    struct timeval limit = {.tv_sec = TIMEOUT};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (connect(fd, (struct sockaddr *)addr, sizeof *addr) < 0) {
        if (errno == EINPROGRESS)       /* what a timed-out connect says */
            errno = ETIMEDOUT;
        die("connect");
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *data, int size)
{
    while (size > 0) {
        ssize_t n = send(fd, data, size, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                errno = ETIMEDOUT;
            die("send");
        }
        data += n;
        size -= n;
    }
}

static void recv_all(int fd, int size)
{
    while (size > 0) {
        ssize_t n = recv(fd, sink, size, 0);
        if (n == 0) {
            errno = ECONNRESET;
            die("recv: server closed the connection");
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                errno = ETIMEDOUT;
                die("recv (no echo in time)");
            }
            die("recv");
        }
        size -= n;
    }
}

/* Read up to want bytes of an echo; 0 when nothing has come after all. */
static ssize_t recv_some(int fd, int want)
{
    ssize_t got = recv(fd, sink, want, 0);
    if (got == 0) {
        errno = ECONNRESET;
        die("recv: server closed the connection");
    }
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        die("recv");
    }
    return got;
}

/* Open fds[start..end) and prove each accepted by one echo. */
static void open_batch(struct sockaddr_in *addr, int *fds, int start, int end,
                       int size)
{
    for (int i = start; i < end; i++)
        fds[i] = connect_one(addr);
    for (int i = start; i < end; i++)
        send_all(fds[i], payload, size);
    for (int i = start; i < end; i++)
        recv_all(fds[i], size);
}

/* The next command on stdin: 1 if it is word, 0 for anything else or EOF. */
static int next_is(const char *word)
{
    char line[64];
    return fgets(line, sizeof line, stdin)
        && strncmp(line, word, strlen(word)) == 0;
}

/* Open conns blocking sockets, in batches proven accepted by one echo.  At
 * each of steps[0..nsteps) (ascending, below conns) say "opened STEP" and
 * wait for "more"; anything else ends the client.  *seconds is the time
 * spent opening, the pauses left out. */
static int *open_all(struct sockaddr_in *addr, int conns, int size,
                     const int *steps, int nsteps, double *seconds)
{
    int *fds = calloc(conns, sizeof *fds);
    int next = 0;
    double t0 = now();
    *seconds = 0;
    for (int start = 0; start < conns; ) {
        int end = start + BATCH < conns ? start + BATCH : conns;
        if (next < nsteps && end > steps[next])
            end = steps[next];
        open_batch(addr, fds, start, end, size);
        start = end;
        if (next < nsteps && end == steps[next]) {
            *seconds += now() - t0;
            printf("opened %d\n", end);
            fflush(stdout);
            if (!next_is("more"))
                exit(0);
            next++;
            t0 = now();
        }
    }
    *seconds += now() - t0;
    return fds;
}

#define MAX_EVENTS 1024

/* Send one message on every fd; left[i] counts the bytes of its echo. */
static void send_on_all(int *fds, int *left, int conns, int size)
{
    for (int i = 0; i < conns; i++) {
        left[i] = size;
        send_all(fds[i], payload, size);
    }
}

/* Wait for readable fds; no echo within seconds is an error. */
static int wait_ready(int ep, struct epoll_event *events, int seconds)
{
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, seconds * 1000);
        if (n > 0)
            return n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = ETIMEDOUT;
        die("epoll_wait (no echo in time)");
    }
}

/* Read what came of fds[i]'s echo; 1 once the whole echo is back. */
static int echo_done(int *fds, int *left, int i)
{
    ssize_t got = recv_some(fds[i], left[i]);
    left[i] -= got;
    return got > 0 && left[i] == 0;
}

/* Send one message on every fd, then wait until every echo is back. */
static void echo_once_on_all(int ep, int *fds, int *left, int conns, int size)
{
    struct epoll_event events[MAX_EVENTS];
    int waiting = conns;
    send_on_all(fds, left, conns, size);
    while (waiting > 0) {
        int n = wait_ready(ep, events, 60);
        for (int k = 0; k < n; k++)
            waiting -= echo_done(fds, left, events[k].data.u32);
    }
}

static int watch_all(int *fds, int conns)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    for (int i = 0; i < conns; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            die("epoll_ctl");
    }
    return ep;
}

static int pingpong(struct sockaddr_in *addr, int conns, double seconds, int size,
                    double warmup)
{
    struct epoll_event events[MAX_EVENTS];
    double opening;
    int *fds = open_all(addr, conns, size, NULL, 0, &opening);
    int *left = calloc(conns, sizeof *left);
    int ep = watch_all(fds, conns);
    long messages = 0, counted = 0;
    double warm_until = now() + warmup, stop_at = 0, started = 0, cpu0 = 0;
    int phase = 0;         /* 0: warming up, 1: measuring, 2: draining */
    int in_flight = conns;

    send_on_all(fds, left, conns, size);
    while (in_flight > 0) {
        int n = wait_ready(ep, events, 10);
        for (int k = 0; k < n; k++) {
            int i = events[k].data.u32;
            if (!echo_done(fds, left, i))
                continue;
            messages++;
            if (phase == 2) {
                in_flight--;
                continue;
            }
            left[i] = size;
            send_all(fds[i], payload, size);
        }
        double t = now();
        if (phase == 0 && t >= warm_until) {
            phase = 1;
            started = t;
            stop_at = t + seconds;
            counted = messages;
            cpu0 = cpu_seconds();
            printf("start\n");
            fflush(stdout);
        } else if (phase == 1 && t >= stop_at) {
            phase = 2;
            printf("stop messages=%ld seconds=%.6f cpu=%.6f\n",
                   messages - counted, t - started, cpu_seconds() - cpu0);
            fflush(stdout);
        }
    }
    return 0;
}

static int c10k(struct sockaddr_in *addr, int conns, int size,
                const int *steps, int nsteps)
{
    double opening;
    int *fds = open_all(addr, conns, size, steps, nsteps, &opening);
    int *left = calloc(conns, sizeof *left);
    int ep = watch_all(fds, conns);
    printf("held %.6f\n", opening);
    fflush(stdout);
    while (next_is("go")) {
        double t0 = now();
        echo_once_on_all(ep, fds, left, conns, size);
        printf("echoed %.6f\n", now() - t0);
        fflush(stdout);
    }
    return 0;
}

static void usage(const char *name)
{
    fprintf(stderr, "usage: %s pingpong HOST PORT CONNS SECONDS SIZE WARMUP\n"
                    "       %s c10k HOST PORT CONNS SIZE [STEP ...]\n", name, name);
    exit(2);
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    int pingpong_mode = argc > 1 && strcmp(argv[1], "pingpong") == 0;
    int steps[MAX_STEPS], nsteps = argc - 6;
    if (argc < 6 || (pingpong_mode && argc != 8)
            || (!pingpong_mode && strcmp(argv[1], "c10k") != 0)
            || nsteps > MAX_STEPS)
        usage(argv[0]);
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "error: %s is not an IPv4 address\n", argv[2]);
        return 2;
    }
    addr.sin_port = htons(atoi(argv[3]));
    int conns = atoi(argv[4]);
    int size = atoi(pingpong_mode ? argv[6] : argv[5]);
    if (conns < 1 || size < 1 || size > MAX_SIZE) {
        fprintf(stderr, "error: need CONNS >= 1 and 1 <= SIZE <= %d\n", MAX_SIZE);
        return 2;
    }
    for (int i = 0; !pingpong_mode && i < nsteps; i++) {
        steps[i] = atoi(argv[6 + i]);
        if (steps[i] < 1 || steps[i] >= conns || (i && steps[i] <= steps[i - 1])) {
            fprintf(stderr, "error: STEP %s is not ascending between 1 and "
                            "CONNS - 1\n", argv[6 + i]);
            return 2;
        }
    }
    memset(payload, 'x', size);
    raise_fd_limit(conns);
    if (pingpong_mode)
        return pingpong(&addr, conns, atof(argv[5]), size, atof(argv[7]));
    return c10k(&addr, conns, size, steps, nsteps);
}
