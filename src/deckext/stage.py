"""The deck served for presenting, with the slides' claims run from the slides.

    python -m deckext.stage _build/slides [--port 8000] [--time-limit 10]

``make present`` serves the built deck with this instead of ``python -m
http.server``: the same files, and three requests for ``.. live-demo::``
(deckext.livedemo; static/stage.js is the page's side):

    POST /demo/NAME                    run claim NAME, stream its output as text
    POST /demo/NAME?counterfactual=1   run its counterfactual
    ...?lang=en                        in the English edition's words
    POST /demo/stop                    end the run that is on

and five for ``.. live-hub::``, the slide that watches a hub at work
(``python -m microthread.demos.live``: an echo server under load, in a
process group of its own, one JSON line of metrics four times a second)::

    POST /live/start                   start it (or keep the one that is on)
    GET  /live/metrics                 its JSON lines, streamed as they come
    POST /live/block, /live/unblock    make its handlers block, or not
    POST /live/stop                    end it

A run is ``python -m microthread.demos run NAME [--counterfactual]`` in a
process group of its own, since demos fork.  One run at a time; the whole
group is killed when the claim ends, when the run passes its time limit,
when it is stopped (stage.js stops it as the deck leaves its slide) and
when the page that asked for it goes away.

Discussion: any web page the presenter has open may send requests to
127.0.0.1, and a page whose host name its owner rebinds to 127.0.0.1 (DNS
rebinding) may even read the answers.  Starting processes is nothing such a
page may do, so every request is checked, and a refusal is a 4xx naming why:

* the server listens on 127.0.0.1 only;
* Host must be ``127.0.0.1:PORT`` or ``localhost:PORT``: a rebound page's
  requests carry its own host name, so it never reads a page with the token;
* Origin, which a browser sends with every POST and every cross-origin
  request, must be the deck's own, ``http://`` and that Host; never null;
* a request that runs or stops something carries this launch's random token
  in the ``X-Deck-Token`` header, which a cross-origin page cannot set
  without a preflight this server never grants.  The server writes the
  token into each page it serves; it never travels in a URL, where history
  and logs would keep it;
* a run names a claim of the registry and nothing else: no code, no body,
  no parameter but ``counterfactual=1`` and ``lang=en``;
* a file is served only from inside the built deck.
"""

import argparse
import contextlib
import hmac
import http.server
import os
import queue
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

HOST = '127.0.0.1'
TOKEN_HEADER = 'X-Deck-Token'
TOKEN_META = '<meta name="deck-token" content="{}">'
DEMOS = (sys.executable, '-m', 'microthread.demos')   # the claims' command
LIVE = (sys.executable, '-m', 'microthread.demos.live')   # the live slide's
TIME_LIMIT = 10.0    # s a run may take; the slowest claim takes about one
LIVE_TIME_LIMIT = 600.0   # s the live slide's server may run: a long answer
LIVE_ORDERS = ('block', 'unblock')
LIVE_GRACE = 3.0     # s the live program outlives its last reader (a reload)
TICK = 0.1           # s between looks at a run whose output has gone quiet
STOP_WAIT = 5.0      # s a stop waits for the killed run to end

# What the stage adds to a run's output when the claim did not end by itself,
# in the language of the run (the claims' own: microthread.demos.english).
STOPPED = '（已停止）'
TIMED_OUT = '（超过 {:g} 秒的时限，已结束）'
ENDINGS = {'zh': (STOPPED, TIMED_OUT),
           'en': ('(stopped)', '(ended at the time limit of {:g} s)')}
SOURCE_LANGUAGE = 'zh'


def registry(language=SOURCE_LANGUAGE):
    """{name: the cause its counterfactual takes away, or None} of every
    claim, said in language."""
    from microthread.demos.claims import CLAIMS
    from microthread.demos.english import say, speaking
    with speaking(language):
        return {name: say(claim.without) if claim.without else None
                for name, claim in CLAIMS.items()}


def demo_language(language):
    """The claims' language ('zh', 'en') for a Sphinx language ('zh_CN', 'en')
    or a page's lang ('zh-CN', 'en')."""
    return SOURCE_LANGUAGE if not language or language.startswith('zh') else language


def claim_command(name, counterfactual, command=DEMOS, language=SOURCE_LANGUAGE):
    """The command line that runs claim name, or its counterfactual, in language."""
    return [*command, 'run', name, *(['--counterfactual'] if counterfactual else []),
            *(['--lang', language] if language != SOURCE_LANGUAGE else [])]


class Run:
    """One claim running in a process group of its own, read as it prints.

    ``stream`` hands the output on as it comes; whatever ends the run --
    the claim itself, ``stop`` from another thread, the time limit, or the
    reader hanging up -- the whole group is killed before it returns, so
    nothing a demo forked outlives its run.
    """

    def __init__(self, argv, time_limit=TIME_LIMIT, language=SOURCE_LANGUAGE):
        self.time_limit = time_limit
        self.endings = ENDINGS[language]
        self.stopped = False
        self._lock = threading.Lock()   # orders stop() against the reaping
        self._reaped = False
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, 'PYTHONUNBUFFERED': '1'})

    def stream(self, write, hangup=None):
        """write(bytes) each piece of output as it comes; return the exit status.

        hangup, a socket, ends the run when its peer closes it: nobody is
        left to read.  A run that did not end by itself ends with a line of
        the stage's saying why (STOPPED, TIMED_OUT).
        """
        pipe = self.process.stdout.fileno()
        watched = [pipe] + ([hangup] if hangup is not None else [])
        deadline = time.monotonic() + self.time_limit
        last, ending = b'\n', None
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    ending = self.endings[1].format(self.time_limit)
                    break
                ready, _, _ = select.select(watched, [], [], min(left, TICK))
                if pipe in ready:
                    data = os.read(pipe, 65536)
                    if not data:
                        break
                    write(data)
                    last = data[-1:]
                elif ready:               # the reader's socket
                    if _hung_up(hangup):
                        return None
                    watched.remove(hangup)
                elif self.process.poll() is not None:
                    break       # it ended; something it forked holds the pipe
            if self.stopped:
                ending = self.endings[0]
            if ending:
                write(('' if last == b'\n' else '\n').encode() + f'{ending}\n'.encode())
        finally:
            self.kill()
        return self.process.returncode

    def stop(self):
        """End the run from another thread; its ``stream`` returns soon after."""
        with self._lock:
            self.stopped = True
            self._kill_group()

    def kill(self):
        """Kill the whole group and reap the claim's process."""
        with self._lock:
            self._kill_group()
            self.process.wait()
            self._reaped = True
        self.process.stdout.close()

    def _kill_group(self):
        if not self._reaped:
            kill_group(self.process)


def kill_group(process):
    """SIGKILL process's whole group; call it only before process is reaped.

    Until then its pid, which is the group's id, cannot be reused, so the
    signal reaches only what process started.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _hung_up(sock):
    """Whether sock's peer has closed it (a read would say end of file)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b''
    except BlockingIOError:
        return False
    except OSError:
        return True


class Live:
    """The live slide's program in a process group of its own; its JSON
    lines go to every reader that subscribed, as they come.

    A reader is a queue; None in it says the program has ended.  Orders
    (block, unblock) go to the program's stdin; ``stop`` kills the group.
    """

    def __init__(self, argv, time_limit=LIVE_TIME_LIMIT):
        self.process = subprocess.Popen(
            [*argv, '--seconds', f'{time_limit:g}'], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, start_new_session=True,
            env={**os.environ, 'PYTHONUNBUFFERED': '1'})
        self.readers = []
        self.claims = 0                   # starts and reads that wanted it
        self.ended = False
        self._lock = threading.Lock()     # readers, ended, the reaping
        self._reaped = False
        self._pump = threading.Thread(target=self._hand_out, daemon=True,
                                      name='live-metrics')
        self._pump.start()

    def _hand_out(self):
        for line in self.process.stdout:
            with self._lock:
                for reader in self.readers:
                    reader.put(line)
        self.kill()

    def subscribe(self):
        """A queue that gets each line from now on, then None at the end."""
        reader = queue.Queue()
        with self._lock:
            self.claims += 1
            if self.ended:
                reader.put(None)
            else:
                self.readers.append(reader)
        return reader

    def unsubscribe(self, reader):
        with self._lock:
            if reader in self.readers:
                self.readers.remove(reader)

    def order(self, word):
        """Tell the program to block or unblock; False once it has ended."""
        try:
            self.process.stdin.write(f'{word}\n'.encode())
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, ValueError):
            return False

    def kill(self):
        """Kill the whole group and reap the program; readers hear the end."""
        with self._lock:
            if not self._reaped:
                kill_group(self.process)
                self.process.wait()
                self._reaped = True
            self.ended = True
            for reader in self.readers:
                reader.put(None)
            self.readers = []
        with contextlib.suppress(OSError):
            self.process.stdin.close()

    def stop(self):
        self.kill()
        if self._pump is not threading.current_thread():
            self._pump.join(STOP_WAIT)


class Refused(Exception):
    """A request the stage will not serve: an HTTP status and why."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status


class Stage(http.server.ThreadingHTTPServer):
    """The built deck in deck_dir on 127.0.0.1:port, the registry's claims
    runnable: ``command run NAME [--counterfactual]`` runs one."""

    daemon_threads = True

    def __init__(self, deck_dir, port=0, command=DEMOS, time_limit=TIME_LIMIT, log=None,
                 live_command=LIVE, live_time_limit=LIVE_TIME_LIMIT, editions=()):
        self.deck = Path(deck_dir).resolve()
        # Every edition (the deck's too) at /NAME/, NAME its directory's name,
        # so that an edition's link to another, ../slides-en/index.html,
        # leads there from / as from /slides/.
        self.editions = {Path(d).name: Path(d).resolve() for d in [deck_dir, *editions]}
        for path in self.editions.values():
            if not (path / 'index.html').is_file():
                raise FileNotFoundError(f'{path} has no index.html: build the slides '
                                        'first (make slides)')
        self.claims = registry()                # {name: what its counterfactual takes away}
        self.command = command
        self.time_limit = time_limit
        self.log = log                          # log(line), or None: quiet
        self.token = secrets.token_urlsafe(32)  # this launch's, in every page served
        self.run = None                         # the Run that is on, if any
        self.run_label = None                   # what it runs: NAME [--counterfactual]
        self.live_command = live_command
        self.live_time_limit = live_time_limit
        self.live = None                        # the live slide's Live, if on
        self._lock = threading.Lock()           # guards run and run_label
        self._ended = threading.Condition(self._lock)   # notified as a run ends
        super().__init__((HOST, port), StageHandler)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return f'http://{HOST}:{self.port}/'

    def hosts(self):
        """The Host headers a request to this server may carry."""
        return {f'{HOST}:{self.port}', f'localhost:{self.port}'}

    def start(self, name, counterfactual, language=SOURCE_LANGUAGE):
        """A Run of claim name (in language), unless one is on already."""
        label = name + (' --counterfactual' if counterfactual else '')
        with self._lock:
            if self.run is not None:
                raise Refused(409, f'{self.run_label} is running: one run at a time '
                                   f'(POST /demo/stop ends it)')
            self.run = Run(claim_command(name, counterfactual, self.command, language),
                           self.time_limit, language)
            self.run_label = label
            return self.run

    def ended(self, run):
        with self._lock:
            if self.run is run:
                self.run = self.run_label = None
            self._ended.notify_all()

    def stop(self, timeout=STOP_WAIT):
        """Stop the run that is on and wait until it has ended; return what it ran."""
        with self._lock:
            run, label = self.run, self.run_label
            if run is None:
                return None
            run.stop()
            if not self._ended.wait_for(lambda: self.run is not run, timeout):
                raise Refused(503, f'{label} did not end within {timeout:g} s of being killed')
            return label

    def start_live(self):
        """The live slide's program: the one that is on, or a new one.

        Either way it ends unless somebody reads it soon: a page that asked
        for it and went away before reading leaves nobody watching.
        """
        with self._lock:
            started = self.live is None or self.live.ended
            if started:
                self.live = Live(self.live_command, self.live_time_limit)
            live = self.live
            live.claims += 1
        self.end_if_unread(live)
        return live, started

    def running_live(self):
        with self._lock:
            if self.live is None or self.live.ended:
                raise Refused(409, 'the live slide is not running (POST /live/start)')
            return self.live

    def stop_live(self):
        with self._lock:
            live, self.live = self.live, None
        if live is not None:
            live.stop()
        return live is not None

    def end_if_unread(self, live):
        """In LIVE_GRACE seconds, end live unless it is read then or was
        claimed again meanwhile (a reload starts and reads it again)."""
        with self._lock:
            claims = live.claims

        def end():
            with self._lock:        # the check and the taking are one step
                if self.live is not live or live.readers or live.claims != claims:
                    return
                self.live = None
            live.stop()
        timer = threading.Timer(LIVE_GRACE, end)
        timer.daemon = True
        timer.start()

    def server_close(self):
        with contextlib.suppress(Refused):
            self.stop()
        self.stop_live()
        super().server_close()


class StageHandler(http.server.SimpleHTTPRequestHandler):
    """Files of the deck (GET, HEAD) and the demo requests (POST), each checked first."""

    server_version = 'DeckStage'
    timeout = 30    # s for a request to arrive whole; a stalled client is dropped

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server, directory=str(server.deck))

    # -- the checks ----------------------------------------------------------

    def check_host_and_origin(self):
        host = self.headers.get('Host')
        if host is None:
            raise Refused(400, 'no Host header')
        if host.lower() not in self.server.hosts():
            raise Refused(403, f'Host {host!r} is not this server: only '
                               f'127.0.0.1:{self.server.port} or localhost:{self.server.port} '
                               f'(a page that rebinds its own name to 127.0.0.1 sends that name)')
        origin = self.headers.get('Origin')
        if origin is not None and origin != f'http://{host.lower()}':
            raise Refused(403, f'Origin {origin!r} is not the deck\'s own, '
                               f'http://{host.lower()}: only the deck\'s page may ask')

    def check_token(self):
        given = self.headers.get(TOKEN_HEADER)
        if given is None:
            raise Refused(403, f'no {TOKEN_HEADER} header: a request that runs or stops '
                               f'something carries the token of the page this server served')
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            raise Refused(403, f'{TOKEN_HEADER} is not this launch\'s token (reload the page)')

    def check_no_body(self):
        if self.headers.get('Transfer-Encoding') or self.headers.get('Content-Length', '0') != '0':
            raise Refused(400, f'POST {urlsplit(self.path).path} takes no body: '
                               f'a run is a claim\'s name, nothing else')

    def file(self):
        """The file a GET or HEAD names: inside a built edition, or refused."""
        path = unquote(urlsplit(self.path).path)
        if '..' in path.split('/') or '\0' in path:
            raise Refused(400, f'path {path!r} climbs out of the deck')
        base = self.edition(path)[0]
        target = Path(self.translate_path(self.path)).resolve()
        if not target.is_relative_to(base):
            raise Refused(403, f'{path!r} leads outside the built deck, to {target}')
        return target

    def edition(self, path):
        """(the directory, the path inside it) of a URL path: /NAME/... in
        the edition NAME, anything else in the deck served at /."""
        first, slash, rest = path.lstrip('/').partition('/')
        if first in self.server.editions:
            return self.server.editions[first], '/' + rest
        return self.server.deck, path

    def translate_path(self, path):
        base, inside = self.edition(unquote(urlsplit(path).path))
        self.directory = str(base)
        return super().translate_path(inside)

    # -- the requests --------------------------------------------------------

    def do_GET(self):
        if urlsplit(self.path).path.startswith('/live/'):
            self.answer(self.serve_metrics)
        else:
            self.answer(self.serve_file)

    def do_HEAD(self):
        self.answer(self.serve_file)

    def do_POST(self):
        self.answer(self.serve_demo)

    def do_OPTIONS(self):
        # A browser's preflight before a cross-origin request with a header
        # of its own, such as the token: never granted.
        self.refuse(405, 'OPTIONS: the stage grants no cross-origin request')

    def answer(self, serve):
        try:
            self.check_host_and_origin()
            serve()
        except Refused as refusal:
            self.refuse(refusal.status, str(refusal))

    def serve_file(self):
        target = self.file()
        if target.is_dir() and self.path.split('?')[0].endswith('/'):
            target = target / 'index.html'
        if target.suffix == '.html' and target.is_file():
            self.send_page(target)
        elif self.command == 'HEAD':
            super().do_HEAD()
        else:
            super().do_GET()

    def send_page(self, target):
        """An HTML page of the deck with this launch's token in its head."""
        page = target.read_bytes()
        head = re.search(rb'<head[^>]*>', page, re.IGNORECASE)
        if head:
            meta = TOKEN_META.format(self.server.token).encode()
            page = page[:head.end()] + meta + page[head.end():]
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(page)))
        self.send_header('Cache-Control', 'no-store')   # a token is for one launch
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(page)

    def serve_demo(self):
        self.check_token()
        self.check_no_body()
        parts = urlsplit(self.path)
        if parts.path.startswith('/live/'):
            return self.serve_live(parts)
        if not parts.path.startswith('/demo/'):
            raise Refused(404, f'no such request: POST {parts.path} '
                               f'(POST /demo/NAME, /demo/stop or /live/...)')
        name = unquote(parts.path[len('/demo/'):])
        if name == 'stop':
            return self.stop(parts.query)
        if name not in self.server.claims:
            raise Refused(404, f'no claim named {name!r} in the registry '
                               f'(python -m microthread.demos list)')
        query = parse_qsl(parts.query, keep_blank_values=True)
        allowed = [('counterfactual', '1')] + [('lang', lang) for lang in ENDINGS
                                               if lang != SOURCE_LANGUAGE]
        if not set(query) <= set(allowed) or len(dict(query)) != len(query):
            raise Refused(400, f'POST /demo/{name} takes no parameter but counterfactual=1 '
                               f'and lang={"|".join(l for l in ENDINGS if l != SOURCE_LANGUAGE)}, '
                               f'not {parts.query!r} (the token goes in the {TOKEN_HEADER} '
                               f'header, never in a URL)')
        options = dict(query)
        counterfactual = 'counterfactual' in options
        if counterfactual and self.server.claims[name] is None:
            raise Refused(400, f'{name} has no counterfactual: it is a claim of structure')
        language = options.get('lang', SOURCE_LANGUAGE)
        self.stream(self.server.start(name, counterfactual, language))

    def start_stream(self, content_type):
        """Headers of a body that streams until the connection closes."""
        self.send_response(200)
        self.send_header('Content-Type', content_type)
        self.send_header('Cache-Control', 'no-store')
        self.send_header('X-Content-Type-Options', 'nosniff')
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True

    def stream(self, run):
        self.start_stream('text/plain; charset=utf-8')
        try:
            run.stream(self.write, hangup=self.connection)
        except OSError:
            pass    # the page went away mid-run; stream() killed the group
        finally:
            self.server.ended(run)

    # -- the live slide -------------------------------------------------------

    def serve_live(self, parts):
        """POST /live/start, /live/stop, /live/block, /live/unblock."""
        order = parts.path[len('/live/'):]
        if parts.query:
            raise Refused(400, f'POST {parts.path} takes no parameter, not {parts.query!r}')
        if order == 'start':
            _, started = self.server.start_live()
            return self.say('started\n' if started else 'running already\n')
        if order == 'stop':
            stopped = self.server.stop_live()
            return self.say('stopped\n' if stopped else 'was not running\n')
        if order not in LIVE_ORDERS:
            raise Refused(404, f'no such request: POST {parts.path} (POST /live/start, '
                               f'/live/stop, /live/block or /live/unblock)')
        if not self.server.running_live().order(order):
            raise Refused(409, 'the live slide\'s program has ended (POST /live/start)')
        self.say(f'{order}ed\n')

    def serve_metrics(self):
        """GET /live/metrics: the live program's JSON lines as they come."""
        self.check_token()
        parts = urlsplit(self.path)
        if parts.path != '/live/metrics' or parts.query:
            raise Refused(404, f'no such request: GET {self.path} (GET /live/metrics)')
        live = self.server.running_live()
        reader = live.subscribe()
        try:
            self.start_stream('application/x-ndjson; charset=utf-8')
            while True:
                try:
                    line = reader.get(timeout=TICK)
                except queue.Empty:
                    if (select.select([self.connection], [], [], 0)[0]
                            and _hung_up(self.connection)):
                        return
                    continue
                if line is None:
                    return
                self.write(line)
        except OSError:
            pass        # the page went away
        finally:
            live.unsubscribe(reader)
            self.server.end_if_unread(live)    # a reload reads it again soon

    def say(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        self.wfile.write(body)

    def write(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def stop(self, query):
        if query:
            raise Refused(400, f'POST /demo/stop takes no parameter, not {query!r}')
        label = self.server.stop()
        self.say(f'stopped {label}\n' if label else 'no run was on\n')

    def refuse(self, status, why):
        body = f'{status} {why}\n'.encode()
        self.log_message('refused: %s', why)
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True
        if self.command != 'HEAD':
            self.wfile.write(body)

    def log_message(self, format, *args):
        if self.server.log:
            self.server.log(f'{self.address_string()} {format % args}')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m deckext.stage',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('deck_dir', help='the built deck (_build/slides), served at /')
    parser.add_argument('editions', nargs='*', metavar='edition_dir',
                        help='other editions (_build/slides-en), each at /NAME/ as the '
                             'deck is at /slides/: the key l switches between them')
    parser.add_argument('--port', type=int, default=8000, help='port on 127.0.0.1 (default 8000)')
    parser.add_argument('--time-limit', type=float, default=TIME_LIMIT, metavar='SECONDS',
                        help=f'kill a run after this long (default {TIME_LIMIT:g})')
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f'--port {args.port} is not a port (0..65535)')
    if not args.time_limit > 0:
        parser.error(f'--time-limit {args.time_limit} is not a positive number of seconds')
    try:
        stage = Stage(args.deck_dir, args.port, time_limit=args.time_limit,
                      log=lambda line: print(line, file=sys.stderr, flush=True),
                      editions=args.editions)
    except FileNotFoundError as error:
        sys.exit(f'error: {error}')
    except OSError as error:
        sys.exit(f'cannot listen on {HOST}:{args.port}: {error.strerror or error}')
    # SIGTERM ends the server as Ctrl-C does: through server_close, which
    # kills the run that is on.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    switch = ';\n  l: the same slide in the other language' if args.editions else ''
    print(f'\n  Open {stage.url} in a browser.\n'
          f'  Arrow keys: next/previous slide;  c: presenter console;  t: slide table{switch}.\n'
          '  A slide with 运行 runs its claim here: one run at a time, '
          f'{args.time_limit:g} s at most.\n', flush=True)
    try:
        stage.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stage.server_close()


if __name__ == '__main__':
    main()
