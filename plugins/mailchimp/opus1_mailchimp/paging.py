"""Reading a paged listing without trusting the total it claims.

Mailchimp answers a listing with ``total_items``; a client that fetches ``range(page, total_items, page)`` in
parallel sends a billion/1000 requests when the number is a lie. :func:`read_pages` fetches pages in order with
at most ``workers`` in flight and stops at the first page that comes back short (fewer items than asked for): so
whatever ``total_items`` says, it sends at most ``workers`` requests past the real end, and never more than
``max_pages`` in all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

#: At most this many pages of one listing (100 million members at 1,000 a page).
MAX_PAGES = 100_000


def read_pages(fetch: Callable[[int], list], page_size: int, workers: int, claimed_total: int | None = None,
               start: int = 0, max_pages: int = MAX_PAGES) -> Iterator[list]:
    """The item lists of the pages at offsets ``start``, ``start + page_size``, ... as ``fetch(offset)`` returns
    them, in order.

    ``claimed_total`` (the listing's ``total_items``, if known) caps how far pages are requested; a short page
    ends the listing whatever it claims.
    """
    end = start + max_pages * page_size
    if claimed_total is not None:
        end = min(end, claimed_total)
    offsets = range(start, end, page_size)
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        try:
            for offset in offsets:
                pending.append(pool.submit(fetch, offset))
                if len(pending) < workers:
                    continue
                page = pending.popleft().result()
                yield page
                if len(page) < page_size:
                    return
            while pending:
                page = pending.popleft().result()
                yield page
                if len(page) < page_size:
                    return
        finally:
            for future in pending:
                future.cancel()
