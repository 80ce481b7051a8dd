"""Files behind URLs: every path lossctl reads or writes may be an fsspec URL (``s3://``, ``gs://``, ``az://``,
``http(s)://``, ``file://``) instead of a local path.

A local path keeps its own code path (nothing here is imported for it, and fsspec is never loaded). A URL is
held as a :class:`Url`, a path-like value that keeps the text as given (``s3://bucket/pred/a.png``, never the
backend's bare ``bucket/pred/a.png``), so that reports record it as written. Every operation on a URL is a
function of the URL and the *storage options* (keyword arguments of the backend's filesystem, such as s3fs's
``endpoint_url``), so it works the same in any process: a worker opens its files with the options the run
carries (:func:`configure` sets them for the process).

* Backends are optional: a URL whose backend is not installed is a :class:`~lossctl.errors.UsageError` naming
  the extra to install (:data:`EXTRAS`); an unknown protocol is one too.
* A missing bucket or file is an :class:`~lossctl.errors.InputError`, and so are credentials the store refuses;
  each message names the URL.
* Transient store errors (throttling, timeouts, 5xx answers) are retried: the backend retries each request on its
  own (s3fs: 5 attempts), then a whole file is read again, :data:`ATTEMPTS` times in all, before it is an error.
* Writing (:func:`write_bytes`) sends the whole body in one call (one PUT on an object store), which is atomic:
  a reader sees the previous object or the new one, never half of one, and nothing is left under another name.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import IO, Any, TypeVar

from lossctl.errors import InputError, UsageError, setting

__all__ = ["ATTEMPTS", "EXTRAS", "SECRET_NAMES", "Url", "append_bytes", "as_location", "can_append",
           "check_writable_parent", "configure", "copy_to_local", "exists", "info", "is_dir", "is_url", "joined",
           "local_path", "open_read", "parse_storage_options", "read_bytes", "redacted", "size", "storage_options",
           "walk", "walk_any", "with_retries", "write_bytes"]

#: The extra that installs each protocol's backend (``pip install 'lossctl[s3]'``).
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure",
          "adl": "azure", "http": "remote", "https": "remote", "file": "remote"}

_LISTING_CACHES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "http", "https")

#: How many times in all a file is read when the store answers with a transient error.
ATTEMPTS = 3
_PAUSES = (0.5, 1.0)  # seconds between attempts

#: Storage options recorded as ``"***"``: these names, and any name ending in ``_key``.
SECRET_NAMES = ("key", "secret", "token", "password")

_options: dict[str, Any] = {}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

T = TypeVar("T")


def is_url(path: object) -> bool:
    """Whether ``path`` is written as a URL (``scheme://...``), not a local path (a :class:`Url` is one; a
    :class:`pathlib.Path` never is: it folds ``//``).

    >>> is_url("s3://bucket/pred"), is_url("pred/a.png"), is_url("C:/data")
    (True, False, False)
    """
    return not isinstance(path, bytes) and _URL.match(str(path)) is not None


class Url:
    """A file or folder behind a URL, with the few path operations pairing needs; the text is kept as given
    (a trailing ``/`` dropped), and ``str()`` gives it back."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        scheme_end = text.index("://") + 3
        self.text = text[:scheme_end] + text[scheme_end:].rstrip("/")

    @property
    def protocol(self) -> str:
        return self.text.split("://", 1)[0].lower()

    @property
    def name(self) -> str:
        return self.text.rsplit("/", 1)[-1] if "/" in self.text[self.text.index("://") + 3:] else ""

    @property
    def parent(self) -> Url:
        head, tail = self.text.split("://", 1)
        return Url(f"{head}://{tail.rsplit('/', 1)[0]}") if "/" in tail else self

    @property
    def suffix(self) -> str:
        name = self.name
        return name[name.rfind("."):] if "." in name.lstrip(".") else ""

    def __truediv__(self, other: str) -> Url:
        return Url(f"{self.text}/{str(other).lstrip('/')}")

    def relative_to(self, other: Url) -> PurePosixPath:
        """This URL's path below ``other``'s (``a/x.png``)."""
        return PurePosixPath(self.text[len(other.text):].lstrip("/"))

    def as_posix(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Url({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Url) and other.text == self.text

    def __lt__(self, other: Url) -> bool:
        return self.text < str(other)

    def __hash__(self) -> int:
        return hash(self.text)

    def __reduce__(self) -> tuple[Any, ...]:
        return Url, (self.text,)


def as_location(path: Any) -> Any:
    """``path`` as a :class:`Url` when it is written as one, else as a :class:`pathlib.Path`."""
    from pathlib import Path

    if isinstance(path, Url):
        return path
    return Url(path) if is_url(path) else Path(path)


def joined(base: Any, text: str) -> Any:
    """``text`` (a path or URL from a list) read from the folder ``base``: a URL as it is, an absolute local path
    as it is, a relative one below ``base`` (a folder or a URL)."""
    from pathlib import Path

    if is_url(text):
        return Url(text)
    if isinstance(base, Url) and not text.startswith("/"):
        return base / text
    return Path(base) / text


def walk_any(root: Any, onerror: Callable[[OSError], None]) -> Iterator[tuple[Any, list[str], list[str]]]:
    """:func:`os.walk` of a local folder, :func:`walk` of a URL."""
    import os

    return walk(root) if isinstance(root, Url) else os.walk(root, onerror=onerror)


# -- storage options ------------------------------------------------------------------------------------------

def parse_storage_options(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` texts as a dict; ``true``/``false`` become booleans, whole numbers ints (s3fs's ``anon=true``,
    ``default_block_size=...``), anything else stays text.

    >>> parse_storage_options(["endpoint_url=http://127.0.0.1:9000", "anon=true", "retries=3"])
    {'endpoint_url': 'http://127.0.0.1:9000', 'anon': True, 'retries': 3}
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"malformed {setting('storage_options', item)}; expected KEY=VALUE, e.g. "
                             "endpoint_url=http://127.0.0.1:9000")
        lowered = value.strip().lower()
        options[key] = (True if lowered == "true" else False if lowered == "false"
                        else int(value) if re.fullmatch(r"[+-]?\d+", value.strip()) else value)
    return options


def redacted(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the value of every secret (:data:`SECRET_NAMES`, any ``*_key``) written ``"***"``.

    >>> redacted({"endpoint_url": "http://x", "secret": "s", "aws_access_key": "k"})
    {'endpoint_url': 'http://x', 'secret': '***', 'aws_access_key': '***'}
    """
    return {k: "***" if k.lower() in SECRET_NAMES or k.lower().endswith("_key") else v for k, v in options.items()}


def configure(options: Mapping[str, Any] | None) -> None:
    """Set the storage options this process opens URLs with (every worker calls it with the run's options)."""
    global _options
    _options = dict(options or {})


def storage_options() -> dict[str, Any]:
    """The storage options this process opens URLs with (see :func:`configure`)."""
    return dict(_options)


# -- the filesystem of a URL ----------------------------------------------------------------------------------

def _filesystem(url: Url) -> tuple[Any, str]:
    """(fsspec filesystem, the backend's path) of ``url``, with the configured storage options."""
    extra = EXTRAS.get(url.protocol)
    try:
        import fsspec
    except ImportError:
        raise UsageError(f"{url}: reading URLs needs fsspec; pip install 'lossctl[{extra or 'remote'}]'") from None
    try:
        cls = fsspec.get_filesystem_class(url.protocol)
    except ValueError:
        raise UsageError(f"{url}: unknown protocol {url.protocol!r}; use a local path or an s3://, gs://, az://, "
                         "http(s):// or file:// URL") from None
    except ImportError:
        install = f"pip install 'lossctl[{extra}]'" if extra else f"install the fsspec backend of {url.protocol}://"
        raise UsageError(f"{url}: the {url.protocol}:// backend is not installed; {install}") from None
    # No listing cache: a long-lived process (a worker, a test session) must see the store as it is now.
    cached = {"use_listings_cache": False} if url.protocol in _LISTING_CACHES else {}
    try:
        fs = cls(**{**cached, **_options})
    except TypeError as e:
        raise UsageError(f"{url}: a storage option is not one the {url.protocol}:// backend takes ({e}); check "
                         f"{setting('storage_options')}") from None
    return fs, cls._strip_protocol(url.text)


@contextlib.contextmanager
def _store_errors(url: Url, what: str) -> Iterator[None]:
    """Turn a store's refusal into one line naming the URL: credentials (exit 3), a missing bucket (exit 3)."""
    try:
        yield
    except (InputError, UsageError):
        raise
    except PermissionError:
        raise InputError(f"{url}: the store refused access to the {what} (wrong or missing credentials, or no "
                         "permission); check the credentials (AWS_* variables, storage options) and the "
                         "bucket's policy") from None
    except FileNotFoundError as e:
        if "bucket" in str(e).lower():
            raise InputError(f"{url}: no such bucket; check the bucket's name and the endpoint") from None
        raise
    except Exception as e:  # noqa: BLE001 - a backend's own exceptions (botocore's, aiohttp's) in one line
        name = type(e).__name__
        if "Credential" in name:
            raise InputError(f"{url}: no usable credentials for the store ({name}); set the backend's variables "
                             "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY...) or give both key and secret "
                             "storage options") from None
        if "Connect" in name or isinstance(e, (ConnectionError, TimeoutError)):
            raise InputError(f"{url}: cannot reach the store ({name}); check the endpoint and the network") from None
        raise


def _transient(error: BaseException) -> bool:
    """Whether ``error`` is worth another attempt: a timeout, a dropped connection, throttling or a 5xx answer."""
    if error.__cause__ is not None and _transient(error.__cause__):  # a read failure in lossctl's words
        return True
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    text = f"{type(error).__name__} {error}"
    return any(word in text for word in ("SlowDown", "Throttl", "TooManyRequests", "ServiceUnavailable",
                                         "InternalError", "RequestTimeout", " 500", " 502", " 503", " 504"))


def with_retries(fn: Callable[[], T], pause: Callable[[float], None] = time.sleep) -> T:
    """``fn()``, called again after a transient store error, :data:`ATTEMPTS` times in all."""
    for attempt in range(ATTEMPTS):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - only transient errors are retried, the others re-raised
            if attempt == ATTEMPTS - 1 or not _transient(e):
                raise
            pause(_PAUSES[min(attempt, len(_PAUSES) - 1)])
    raise AssertionError("unreachable")  # pragma: no cover


# -- reading --------------------------------------------------------------------------------------------------

def info(url: Url, what: str = "file") -> dict[str, Any] | None:
    """The store's facts about ``url`` (``type``: ``"file"`` or ``"directory"``, ``size``), None when absent."""
    fs, path = _filesystem(url)
    with _store_errors(url, what):
        try:
            return dict(with_retries(lambda: fs.info(path)))
        except FileNotFoundError:
            with contextlib.suppress(FileNotFoundError, OSError):
                if fs.isdir(path):
                    return {"type": "directory", "size": 0}
            return None


def exists(url: Url, what: str = "file") -> bool:
    return info(url, what) is not None


def is_dir(url: Url, what: str = "folder") -> bool:
    found = info(url, what)
    return found is not None and found.get("type") == "directory"


def size(url: Url) -> int:
    found = info(url)
    return int((found or {}).get("size") or 0)


def walk(url: Url, what: str = "folder") -> Iterator[tuple[Url, list[str], list[str]]]:
    """``(folder, subfolders, files)`` below ``url``, like :func:`os.walk` (top-down: prune ``subfolders`` in
    place)."""
    fs, path = _filesystem(url)
    with _store_errors(url, what):
        listing = with_retries(lambda: fs.ls(path, detail=True))
    folders = sorted(_base(e["name"]) for e in listing if e.get("type") == "directory")
    files = sorted(_base(e["name"]) for e in listing if e.get("type") != "directory")
    files = [f for f in files if f]
    yield url, folders, files
    for name in folders:
        if name:
            yield from walk(url / name, what)


def _base(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def open_read(url: Url, *, block_size: int = 1 << 20, size: int | None = None) -> IO[bytes]:
    """A seekable binary file object reading ``url`` in ranged requests: a reader's header read fetches at most
    ``block_size`` bytes beyond what it asks, so a file is refused from its header before its body is fetched.
    ``size`` (known from :func:`info`) saves an object store the request that would ask it again."""
    fs, path = _filesystem(url)
    known = {"size": size} if size is not None and url.protocol != "file" else {}
    with _store_errors(url, "file"):
        return fs.open(path, "rb", block_size=block_size, cache_type="readahead",  # type: ignore[no-any-return]
                       **known)


def read_bytes(url: Url, what: str = "file") -> bytes:
    """The whole content of ``url`` (retried on transient errors)."""
    fs, path = _filesystem(url)
    with _store_errors(url, what):
        return with_retries(lambda: fs.cat_file(path))  # type: ignore[no-any-return]


def copy_to_local(url: Url, target: str) -> None:
    """Download ``url`` to the local file ``target`` (retried on transient errors)."""
    fs, path = _filesystem(url)
    with _store_errors(url, "file"):
        with_retries(lambda: fs.get_file(path, target))


# -- writing --------------------------------------------------------------------------------------------------

def can_append(url: Url) -> bool:
    """Whether the store can append to an object (a local ``file://`` URL can; object stores cannot)."""
    return url.protocol == "file"


def local_path(url: Url) -> str | None:
    """The local path of a ``file://`` URL (written to as a local file: atomically, by rename), else None."""
    if url.protocol != "file":
        return None
    fs, path = _filesystem(url)
    return path


def write_bytes(url: Url, data: bytes, what: str = "file") -> None:
    """Replace ``url`` (not a ``file://`` URL: see :func:`local_path`) with ``data`` in one call: one PUT on an
    object store, atomic (a reader sees the previous object or the new one, never half of one)."""
    fs, path = _filesystem(url)
    with _store_errors(url, what):
        with_retries(lambda: fs.pipe_file(path, data))


def append_bytes(url: Url, data: bytes) -> None:
    """Append ``data`` to ``url`` (only where :func:`can_append`)."""
    fs, path = _filesystem(url)
    with fs.open(path, "ab") as handle:
        handle.write(data)


def check_writable_parent(url: Url) -> str | None:
    """Why ``url`` (not a ``file://`` URL) cannot be written, the bucket being missing, or None."""
    fs, path = _filesystem(url)
    bucket = path.split("/", 1)[0]
    with _store_errors(url, "bucket"):
        try:
            found = with_retries(lambda: fs.exists(bucket))
        except FileNotFoundError:
            found = False
    return None if found else f"the bucket {bucket} does not exist; create it first"
