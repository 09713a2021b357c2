"""The live hub: messages published on the feed's thread reach every open page's queue on the event loop, a
full queue drops instead of blocking the feed, and each message is one server-sent event."""

from __future__ import annotations

import asyncio
import threading

from actionstream.console.live import LiveHub, LiveMessage


def test_a_message_is_one_named_server_sent_event_on_one_line() -> None:
    message = LiveMessage("action", {"label": "wave", "confidence": 0.5})
    assert message.encode() == 'event: action\ndata: {"label":"wave","confidence":0.5}\n\n'


def test_messages_from_another_thread_reach_every_subscriber_and_a_full_queue_drops() -> None:
    async def scenario() -> tuple[list[int], list[int], int, int]:
        hub = LiveHub(queue_size=2)
        slow, fast = hub.subscribe(), hub.subscribe()
        publisher = threading.Thread(target=lambda: [hub.publish(LiveMessage("action", {"n": n})) for n in range(3)])
        publisher.start()
        publisher.join()
        fast_got = [(await asyncio.wait_for(fast.get(), 5)).data["n"] for _ in range(2)]
        slow_got = [(await asyncio.wait_for(slow.get(), 5)).data["n"] for _ in range(2)]
        left = slow.qsize() + fast.qsize()
        hub.unsubscribe(slow)
        return fast_got, slow_got, left, hub.subscribers

    fast_got, slow_got, left, subscribers = asyncio.run(scenario())
    assert fast_got == slow_got == [0, 1]  # in order; the third found both queues full
    assert left == 0 and subscribers == 1
