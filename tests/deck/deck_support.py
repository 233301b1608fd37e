"""What the deck's tests share: building with Sphinx, and reading the built deck."""

import functools
import html.parser
import http.server
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# As `make test` builds: warnings are errors, all reported, references
# checked, and a fresh environment so that no warning hides in a cache.
STRICT = ['-W', '--keep-going', '-n', '-E']


def sphinx_build(srcdir, outdir, builder='slides', *options):
    """Run sphinx-build in this interpreter's environment; return the process.

    Without colour: under CI=true Sphinx colours its messages even into a pipe.
    """
    return subprocess.run(
        [sys.executable, '-m', 'sphinx', '--no-color', '-b', builder, *options,
         str(srcdir), str(outdir)],
        capture_output=True, text=True)


# The talk as its author wrote it: every section's title and bullets, in
# order (the first is the title slide).  The deck keeps them all, in this
# order, changed only in spacing and punctuation and by CORRECTIONS.
SEED = [
    ('进程、线程、微线程和事件驱动', []),
    ('内核级 VS 用户级', ['普通程序运行于用户级', '通过system call调用内核程序 (TRAP指令)']),
    ('进程 - 一段程序的顺序执行', ['抢占式调度', '独立的地址空间']),
    ('线程', ['共享地址空间的进程', '对调度器来说和进程没有区别']),
    ('内核调度时机 - 事件驱动', ['时钟中断触发抢占式调度', 'IO中断触发内核线程的阻塞和唤醒']),
    ('用户级线程 - 微线程/绿线程/协程',
     ['在用户级调度不同的代码执行序列', '好处：开销小', '坏处：需要避开阻塞的系统调用']),
    ('用户级调度器的调度时机', ['由解释器进行调度', '代码主动切换 (协作式调度)']),
    ('抢占式调度 VS 协作式调度',
     ['抢占式调度容易出现: 关键区域(Critical Section)的同步', '协作式调度容易出现：饥饿']),
    ('线程模型', ['1:1 系统线程', 'M:1 greenlet的线程', 'M:N golang/haskell的线程']),
    ('事件驱动编程', ['内核的事件驱动：中断', '多播IO：select/poll/epoll/kqueue/IOCP']),
    ('事件驱动主循环', []),
    ('注册事件接口', []),
    ('使用', []),
    ('对比系统线程+阻塞接口', []),
    ('微线程+事件驱动+非阻塞接口', []),
    ('区别在send的实现', []),
    ('线程安全 - 识别何时会切换',
     ['抢占式调度：随时可能切换', '协作式调度：通常是阻塞操作的接口会切换或主动切换',
      '事件驱动：不同回调函数之间']),
    ('线程安全 - 识别何时会切换 - 例子',
     ['executeSQL 切换, async_executeSQL 不切换', 'socket.send 切换，socket.async_send 不切换']),
    ('线程安全 - 示例', []),
    ('线程安全 - 示例 - 事件驱动', []),
]

# The seed's words the deck corrects (departures listed on 与原稿的不同).
CORRECTIONS = [
    ('多播IO', '多路复用I/O'),                  # multicast -> multiplexing
    ('内核线程', '系统线程'),                   # it means an OS thread
    ('关键区域(CriticalSection)', '关键区域(临界区,CriticalSection)'),
]

_FULL_WIDTH = str.maketrans('（），：；！？', '(),:;!?')


def seed_form(text, corrected=False):
    """text without spacing, with ASCII punctuation, and (if corrected)
    the seed's corrections applied: so a seed line and its slide compare."""
    text = ''.join(text.split()).translate(_FULL_WIDTH)
    if corrected:
        for wrong, right in CORRECTIONS:
            text = text.replace(wrong, right)
    return text


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def start_server(directory):
    """An HTTP server for directory on 127.0.0.1, serving from a thread."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Slide:
    """One <article> of the built deck: its title, bullets, notes and code."""

    def __init__(self, classes):
        self.classes = classes
        self.title = ''
        self.notes = ''
        self.items = []  # text of each bullet (<li>) outside the notes
        self.code = []   # text of each <pre>

    def __repr__(self):
        return f'<Slide {self.title!r}>'


class DeckParser(html.parser.HTMLParser):
    """Split hieroglyph's index.html into Slides (stdlib only, no BeautifulSoup)."""

    def __init__(self):
        super().__init__()
        self.slides = []
        self._open = []      # stack of (tag, role) of the elements we are in
        self._role = None    # 'title', 'notes' or 'code' while inside one
        self._title_of_note = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get('class') or '').split()
        role = None
        if tag == 'article' and 'slide' in classes:
            self.slides.append(Slide(classes))
            role = 'slide'
        elif self.slides and self._role is None:
            if tag in ('h1', 'h2') and self._open and self._open[-1][1] == 'slide':
                role = 'title'
            elif tag == 'div' and 'note' in classes:
                role = 'notes'
            elif tag == 'pre':
                role = 'code'
                self.slides[-1].code.append('')
            elif tag == 'li':
                role = 'item'
                self.slides[-1].items.append('')
        if self._role == 'notes' and tag == 'p':
            self._title_of_note = 'admonition-title' in classes
        if tag in ('meta', 'link', 'br', 'img', 'input', 'hr'):
            return
        self._open.append((tag, role))
        if role in ('title', 'notes', 'code', 'item'):
            self._role = role

    def handle_endtag(self, tag):
        while self._open:
            open_tag, role = self._open.pop()
            if role == self._role and role is not None:
                self._role = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._open and self._open[-1][0] == 'p' and self._title_of_note:
            return   # the admonition's own title, 备注: not what is said
        if self._role == 'title':
            self.slides[-1].title += data
        elif self._role == 'notes':
            self.slides[-1].notes += data
        elif self._role == 'code':
            self.slides[-1].code[-1] += data
        elif self._role == 'item':
            self.slides[-1].items[-1] += data


def parse_deck(index_html):
    parser = DeckParser()
    parser.feed(Path(index_html).read_text(encoding='utf-8'))
    return parser.slides
