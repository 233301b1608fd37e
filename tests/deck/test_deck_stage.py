"""The stage (deckext.stage) over real HTTP: what it runs, and what it refuses.

Every refusal the stage's security rests on is a test here, made with a
raw request as a hostile page (or a DNS-rebound one) would make it, and
each asserts the 4xx status and that the answer names the culprit.  Runs
that must be ended -- stopped, over the time limit, abandoned by the page
-- use a fake demo that forks and waits (stage_fake_demo.py), and each
checks that both of its processes are gone.  The runs that must succeed
run real claims of the registry.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import types
import urllib.request

import pytest

from deckext import stage as stage_module
from stage_support import FAKE_DEMO, PIDS, alive, group_members, serving, wait_until

PAGE = '<!DOCTYPE html>\n<html><head><title>deck</title></head><body>slides</body></html>\n'


@pytest.fixture
def deck(tmp_path):
    """A built deck as far as the stage cares: an index.html and a file."""
    deck = tmp_path / 'deck'
    deck.mkdir()
    (deck / 'index.html').write_text(PAGE, encoding='utf-8')
    (deck / 'style.css').write_text('body {}\n', encoding='utf-8')
    (tmp_path / 'secret.txt').write_text('not the deck\n', encoding='utf-8')
    return deck


@pytest.fixture
def stage(deck):
    with serving(deck) as stage:
        yield stage


@pytest.fixture
def fake_stage(deck):
    """A stage whose runs are the fake demo: they fork and wait."""
    with serving(deck, command=FAKE_DEMO, time_limit=30) as stage:
        yield stage


def send(stage, method, path, headers=None, host=None, body=None):
    """A raw request: Host as given (None: the stage's own, False: none), and
    exactly the other headers given."""
    connection = http.client.HTTPConnection('127.0.0.1', stage.port, timeout=10)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    if host is not False:
        connection.putheader('Host', host or f'127.0.0.1:{stage.port}')
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    if body is not None:
        connection.putheader('Content-Length', str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    response.connection = connection
    return response


def from_deck(stage, **extra):
    """The headers of a request the deck's own page makes."""
    return {'Origin': f'http://127.0.0.1:{stage.port}', 'X-Deck-Token': stage.token, **extra}


def refused(response, status, *words):
    """Assert the refusal: its status, and that its text names each word."""
    text = response.read().decode()
    assert response.status == status, text
    for word in words:
        assert word in text, text
    return text


def fake_pids(response):
    """The pids the fake demo printed: its first two lines, read as they come."""
    lines = [response.readline().decode() for _ in range(2)]
    pids = [int(match) for line in lines for match in PIDS.findall(line)]
    assert len(pids) == 2, lines
    assert all(alive(pid) for pid in pids)
    return pids


def hang_up(response):
    """Close the request's connection, as a page that goes away does."""
    response.close()
    response.connection.close()


def gone(pids):
    wait_until(lambda: not any(alive(pid) for pid in pids), f'processes {pids} still run')


# --- what it serves ------------------------------------------------------------

def test_the_page_carries_this_launchs_token_and_is_never_cached(stage):
    response = send(stage, 'GET', '/')
    page = response.read().decode()
    assert response.status == 200
    assert f'<head><meta name="deck-token" content="{stage.token}">' in page
    assert response.getheader('Cache-Control') == 'no-store'


def test_a_file_of_the_deck_is_served(stage):
    response = send(stage, 'GET', '/style.css')
    assert (response.status, response.read()) == (200, b'body {}\n')


def test_a_run_streams_the_claims_verdict(stage):
    response = send(stage, 'POST', '/demo/address-space', from_deck(stage))
    assert response.status == 200
    assert response.getheader('Content-Type') == 'text/plain; charset=utf-8'
    assert response.read().decode().startswith('address-space: holds — ')


def test_a_counterfactual_streams_the_opposite_verdict(stage):
    response = send(stage, 'POST', '/demo/address-space?counterfactual=1', from_deck(stage))
    assert response.status == 200
    assert response.read().decode().startswith(
        'address-space --counterfactual（改由线程来写）: refuted — ')


def test_the_english_edition_s_run_speaks_english(stage):
    response = send(stage, 'POST', '/demo/address-space?counterfactual=1&lang=en',
                    from_deck(stage))
    assert response.status == 200
    said = response.read().decode()
    assert said.startswith('address-space --counterfactual (') and ': refuted — ' in said
    assert not re.search(r'[\u3000-\u9fff\uff00-\uffef]', said)


def test_output_arrives_while_the_run_is_still_on(fake_stage):
    response = send(fake_stage, 'POST', '/demo/address-space', from_deck(fake_stage))
    pids = fake_pids(response)        # read before the run has ended
    assert fake_stage.run is not None
    hang_up(response)
    gone(pids)


# --- ending a run: the whole process group, every way ---------------------------

def test_stop_ends_the_run_and_kills_its_whole_group(fake_stage):
    response = send(fake_stage, 'POST', '/demo/address-space', from_deck(fake_stage))
    pids = fake_pids(response)
    stop = send(fake_stage, 'POST', '/demo/stop', from_deck(fake_stage))
    assert (stop.status, stop.read()) == (200, b'stopped address-space\n')
    assert response.read().decode() == stage_module.STOPPED + '\n'
    gone(pids)
    assert fake_stage.run is None


def test_the_time_limit_ends_the_run_and_kills_its_whole_group(deck):
    with serving(deck, command=FAKE_DEMO, time_limit=0.5) as stage:
        response = send(stage, 'POST', '/demo/address-space', from_deck(stage))
        pids = fake_pids(response)
        assert response.read().decode() == stage_module.TIMED_OUT.format(0.5) + '\n'
        gone(pids)


def test_a_page_that_goes_away_ends_its_run(fake_stage):
    response = send(fake_stage, 'POST', '/demo/address-space', from_deck(fake_stage))
    pids = fake_pids(response)
    hang_up(response)
    gone(pids)
    wait_until(lambda: fake_stage.run is None, 'the stage still has the run')


def test_closing_the_server_ends_the_run(deck):
    with serving(deck, command=FAKE_DEMO, time_limit=30) as stage:
        response = send(stage, 'POST', '/demo/address-space', from_deck(stage))
        pids = fake_pids(response)
    gone(pids)


def test_stop_with_no_run_on_says_so(stage):
    response = send(stage, 'POST', '/demo/stop', from_deck(stage))
    assert (response.status, response.read()) == (200, b'no run was on\n')


# --- the refusals ----------------------------------------------------------------

def test_it_listens_on_127_0_0_1_only(stage):
    assert stage.server_address[0] == '127.0.0.1'
    with pytest.raises(ConnectionRefusedError):    # another loopback address
        socket.create_connection(('127.0.0.2', stage.port), timeout=5).close()


def test_one_run_at_a_time(fake_stage):
    first = send(fake_stage, 'POST', '/demo/address-space', from_deck(fake_stage))
    pids = fake_pids(first)
    second = send(fake_stage, 'POST', '/demo/awaits', from_deck(fake_stage))
    refused(second, 409, 'address-space is running', 'one run at a time')
    hang_up(first)
    gone(pids)


def test_a_run_without_the_token_header_is_refused(stage):
    headers = from_deck(stage)
    del headers['X-Deck-Token']
    refused(send(stage, 'POST', '/demo/address-space', headers), 403, 'no X-Deck-Token header')
    assert stage.run is None


def test_a_stop_without_the_token_header_is_refused(stage):
    headers = from_deck(stage)
    del headers['X-Deck-Token']
    refused(send(stage, 'POST', '/demo/stop', headers), 403, 'no X-Deck-Token header')


def test_a_wrong_token_is_refused(stage):
    headers = from_deck(stage, **{'X-Deck-Token': stage.token[:-1] + 'x'})
    refused(send(stage, 'POST', '/demo/address-space', headers), 403,
            "X-Deck-Token is not this launch's token")


def test_the_token_in_the_url_counts_for_nothing(stage):
    headers = from_deck(stage)
    del headers['X-Deck-Token']
    refused(send(stage, 'POST', f'/demo/address-space?token={stage.token}', headers),
            403, 'no X-Deck-Token header')


def test_a_host_other_than_this_server_is_refused_even_for_the_page(stage):
    """DNS rebinding: a page whose name now points to 127.0.0.1 sends its name."""
    text = refused(send(stage, 'GET', '/', host=f'rebound.example:{stage.port}'),
                   403, "Host 'rebound.example:", 'is not this server')
    assert stage.token not in text
    refused(send(stage, 'POST', '/demo/address-space', from_deck(stage),
                 host=f'rebound.example:{stage.port}'), 403, 'is not this server')


def test_this_host_on_another_port_is_refused(stage):
    refused(send(stage, 'GET', '/', host='127.0.0.1:1'), 403, "Host '127.0.0.1:1'")


def test_localhost_is_this_server_too(stage):
    response = send(stage, 'POST', '/demo/awaits',
                    from_deck(stage, Origin=f'http://localhost:{stage.port}'),
                    host=f'localhost:{stage.port}')
    assert response.status == 200
    assert response.read().decode().startswith('awaits: holds — ')


def test_a_request_without_a_host_is_refused(stage):
    refused(send(stage, 'GET', '/', host=False), 400, 'no Host header')


@pytest.mark.parametrize('origin', ['null', 'http://rebound.example', 'https://127.0.0.1:{port}',
                                    'http://localhost:{port}'])
def test_an_origin_other_than_the_decks_own_is_refused(stage, origin):
    origin = origin.format(port=stage.port)
    headers = from_deck(stage, Origin=origin)
    refused(send(stage, 'POST', '/demo/address-space', headers), 403,
            f'Origin {origin!r} is not the deck\'s own')
    assert stage.run is None


def test_a_cross_origin_read_of_the_page_is_refused(stage):
    refused(send(stage, 'GET', '/', {'Origin': 'http://rebound.example'}), 403,
            "Origin 'http://rebound.example'")


@pytest.mark.parametrize('name', ['no-such-claim', 'address-space;id', '..%2Fstop', 'CLAIMS'])
def test_only_a_claim_of_the_registry_runs(stage, name):
    refused(send(stage, 'POST', f'/demo/{name}', from_deck(stage)), 404, 'no claim named')


@pytest.mark.parametrize('query', ['counterfactual=1&x=2', 'counterfactual=yes', 'verbose=1',
                                   'counterfactual', 'lang=fr', 'lang=zh', 'lang=en&lang=en'])
def test_a_run_takes_no_argument_but_counterfactual_1(stage, query):
    refused(send(stage, 'POST', f'/demo/address-space?{query}', from_deck(stage)), 400,
            'takes no parameter but counterfactual=1', repr(query))


def test_a_run_takes_no_body(stage):
    refused(send(stage, 'POST', '/demo/address-space', from_deck(stage),
                 body=b'import os; os.system("id")'), 400, 'takes no body')


def test_a_claim_of_structure_has_no_counterfactual_to_run(stage):
    refused(send(stage, 'POST', '/demo/thread-models?counterfactual=1', from_deck(stage)),
            400, 'thread-models has no counterfactual')


def test_a_post_elsewhere_is_refused(stage):
    refused(send(stage, 'POST', '/index.html', from_deck(stage)), 404, 'POST /index.html')


@pytest.mark.parametrize('path', ['/../secret.txt', '/%2e%2e/secret.txt', '/a/../../secret.txt'])
def test_a_path_that_climbs_out_of_the_deck_is_refused(stage, path):
    text = refused(send(stage, 'GET', path), 400, 'climbs out of the deck')
    assert 'not the deck' not in text


def test_a_link_out_of_the_deck_is_refused(stage, deck):
    os.symlink(deck.parent / 'secret.txt', deck / 'linked.txt')
    text = refused(send(stage, 'GET', '/linked.txt'), 403,
                   "'/linked.txt' leads outside the built deck")
    assert 'not the deck' not in text


# --- the command line (make present) ----------------------------------------------

def test_the_command_serves_the_deck_and_its_claims_until_sigterm(deck):
    command = [sys.executable, '-m', 'deckext.stage', str(deck), '--port', '0']
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as server:
        try:
            url = next(line for line in server.stdout if 'Open http' in line).split()[1]
            port = int(url.rstrip('/').rsplit(':', 1)[1])
            page = urllib.request.urlopen(url, timeout=10).read().decode()
            token = re.search(r'<meta name="deck-token" content="([^"]+)">', page).group(1)
            stage = types.SimpleNamespace(port=port, token=token)
            response = send(stage, 'POST', '/demo/address-space', from_deck(stage))
            assert response.read().decode().startswith('address-space: holds — ')
        finally:
            server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0


def test_the_command_names_a_deck_that_is_not_built(tmp_path):
    done = subprocess.run([sys.executable, '-m', 'deckext.stage', str(tmp_path), '--port', '0'],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f'{tmp_path} has no index.html: build the slides first (make slides)' in done.stderr


def test_the_command_names_a_port_it_cannot_listen_on(deck, stage):
    done = subprocess.run([sys.executable, '-m', 'deckext.stage', str(deck),
                           '--port', str(stage.port)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr.strip() == f'cannot listen on 127.0.0.1:{stage.port}: Address already in use'


# --- the live slide: python -m microthread.demos.live --------------------------

LIVE_REQUESTS = [('POST', '/live/start'), ('POST', '/live/stop'), ('POST', '/live/block'),
                 ('POST', '/live/unblock'), ('GET', '/live/metrics')]


def live_lines(response):
    """Each JSON line of GET /live/metrics, as it comes."""
    assert response.status == 200, response.read()
    while line := response.readline():
        yield json.loads(line)


def group_of(stage):
    """The pids of the live program's process group: it and its load generator."""
    return group_members(stage.live.process.pid)


def test_the_live_program_streams_its_metrics_and_obeys_block_and_unblock(stage):
    assert send(stage, 'POST', '/live/start', from_deck(stage)).read() == b'started\n'
    assert send(stage, 'POST', '/live/start', from_deck(stage)).read() == b'running already\n'
    wait_until(lambda: len(group_of(stage)) == 2, 'the server and its load generator run')
    pids = group_of(stage)
    lines = live_lines(send(stage, 'GET', '/live/metrics', from_deck(stage)))
    first = next(lines)
    assert {'msgs_per_s', 'connections', 'ready', 'switches_per_s', 'blocking', 'detector',
            'strip'} <= first.keys()
    assert next(line for line in lines if line['msgs_per_s'] > 0)['blocking'] is False
    assert send(stage, 'POST', '/live/block', from_deck(stage)).read() == b'blocked\n'
    stalled = next(line for line in lines if line['detector'])
    assert stalled['blocking'] is True
    assert re.fullmatch(r'live\.py:\d+ in handle', stalled['detector']['where'])
    assert send(stage, 'POST', '/live/unblock', from_deck(stage)).read() == b'unblocked\n'
    assert next(line for line in lines if not line['blocking'])
    assert send(stage, 'POST', '/live/stop', from_deck(stage)).read() == b'stopped\n'
    assert len(list(lines)) <= 2           # the stream ends with the program
    gone(pids)
    assert stage.live is None


@pytest.mark.parametrize('method, path', LIVE_REQUESTS)
def test_a_live_request_without_the_token_header_is_refused(stage, method, path):
    headers = from_deck(stage)
    del headers['X-Deck-Token']
    refused(send(stage, method, path, headers), 403, 'no X-Deck-Token header')
    assert stage.live is None


@pytest.mark.parametrize('method, path', LIVE_REQUESTS)
def test_a_live_request_from_another_origin_is_refused(stage, method, path):
    refused(send(stage, method, path, from_deck(stage, Origin='http://rebound.example')),
            403, "Origin 'http://rebound.example' is not the deck's own")
    assert stage.live is None


def test_a_rebound_host_cannot_start_the_live_program(stage):
    refused(send(stage, 'POST', '/live/start', from_deck(stage),
                 host=f'rebound.example:{stage.port}'), 403, 'is not this server')
    assert stage.live is None


@pytest.mark.parametrize('method, path', [('POST', '/live/block'), ('POST', '/live/unblock'),
                                          ('GET', '/live/metrics')])
def test_a_live_order_before_start_is_refused(stage, method, path):
    refused(send(stage, method, path, from_deck(stage)), 409,
            'the live slide is not running (POST /live/start)')


@pytest.mark.parametrize('method, path', [('POST', '/live/exec'), ('POST', '/live/'),
                                          ('GET', '/live/start'), ('GET', '/live/metrics/x')])
def test_only_the_live_slides_own_requests_are_served(stage, method, path):
    refused(send(stage, method, path, from_deck(stage)), 404, 'no such request')
    assert stage.live is None


def test_a_live_order_takes_no_parameter_and_no_body(stage):
    refused(send(stage, 'POST', '/live/start?connections=1000', from_deck(stage)), 400,
            'takes no parameter', "'connections=1000'")
    refused(send(stage, 'POST', '/live/start', from_deck(stage), body=b'block'), 400,
            'takes no body')
    assert stage.live is None


def test_the_live_program_ends_soon_after_its_last_reader_goes(stage, monkeypatch):
    monkeypatch.setattr(stage_module, 'LIVE_GRACE', 0.2)
    send(stage, 'POST', '/live/start', from_deck(stage)).read()
    response = send(stage, 'GET', '/live/metrics', from_deck(stage))
    next(live_lines(response))
    wait_until(lambda: len(group_of(stage)) == 2, 'the server and its load generator run')
    pids = group_of(stage)
    hang_up(response)
    gone(pids)
    wait_until(lambda: stage.live is None, 'the stage forgets the ended program')


def test_a_live_program_nobody_reads_ends_after_the_grace(stage, monkeypatch):
    """A page that asked for it and went away before reading it."""
    monkeypatch.setattr(stage_module, 'LIVE_GRACE', 1.0)
    send(stage, 'POST', '/live/start', from_deck(stage)).read()
    pgid = stage.live.process.pid
    wait_until(lambda: stage.live is None, 'the unread program ends')
    gone([pgid])


def test_closing_the_server_ends_the_live_program(deck):
    with serving(deck) as stage:
        send(stage, 'POST', '/live/start', from_deck(stage)).read()
        wait_until(lambda: len(group_of(stage)) == 2, 'the server and its load generator run')
        pids = group_of(stage)
    gone(pids)
