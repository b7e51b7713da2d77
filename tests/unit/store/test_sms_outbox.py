"""The SMS outbox in the SQLite store: queue, due by time, status updates."""

import pytest

from b2bua.store import CallRecord, NotFoundError, SqliteStore, UnknownCallError


def test_queued_message_is_due_from_its_time(store: SqliteStore) -> None:
    store.create_call(CallRecord(id="c1", started_at=1.0, direction="inbound",
                                 caller_number="+79161234567", called_number="7000"))
    message = store.queue_sms("+7 916 123-45-67", "Acme Ltd, +7 495 000-00-00", 100.0, "c1")
    assert (message.to_number, message.status, message.attempts) == ("+79161234567", "queued", 0)
    assert store.due_sms(99.0) == []
    assert store.due_sms(100.0) == [message]
    assert store.get_sms(message.id) == message


def test_retry_then_delivery(store: SqliteStore) -> None:
    message = store.queue_sms("111", "card", 100.0)
    sending = store.update_sms(message.id, "sending", 100.5, attempts=1)
    assert store.due_sms(1000.0) == []  # a message being sent is not handed out twice
    retry = store.update_sms(message.id, "queued", 101.0, next_attempt_at=131.0,
                             last_error="408 Request Timeout")
    assert (sending.attempts, retry.attempts, retry.last_error) == (1, 1, "408 Request Timeout")
    assert store.due_sms(130.0) == []
    assert [m.id for m in store.due_sms(131.0)] == [message.id]
    store.update_sms(message.id, "sending", 131.0, attempts=2)
    sent = store.update_sms(message.id, "sent", 131.2)
    delivered = store.update_sms(message.id, "delivered", 140.0)
    assert (sent.status, delivered.status, delivered.updated_at) == ("sent", "delivered", 140.0)
    assert delivered.created_at == 100.0 and delivered.attempts == 2


def test_due_is_oldest_first_and_limited(store: SqliteStore) -> None:
    late = store.queue_sms("111", "a", 50.0)
    early = store.queue_sms("222", "b", 10.0)
    middle = store.queue_sms("333", "c", 30.0)
    assert [m.id for m in store.due_sms(100.0, limit=2)] == [early.id, middle.id]
    assert [m.id for m in store.due_sms(100.0)] == [early.id, middle.id, late.id]


def test_messages_left_sending_by_a_crash_are_requeued(store: SqliteStore) -> None:
    first = store.queue_sms("111", "a", 10.0)
    second = store.queue_sms("222", "b", 10.0)
    store.update_sms(first.id, "sending", 11.0, attempts=1)
    store.update_sms(second.id, "sent", 11.0, attempts=1)
    assert store.requeue_sending_sms(500.0) == 1
    assert [(m.id, m.next_attempt_at) for m in store.due_sms(500.0)] == [(first.id, 500.0)]


def test_list_by_status_newest_first(store: SqliteStore) -> None:
    a = store.queue_sms("111", "a", 1.0)
    b = store.queue_sms("222", "b", 2.0)
    store.update_sms(a.id, "failed", 3.0, last_error="no route")
    assert [m.id for m in store.list_sms()] == [b.id, a.id]
    assert [m.id for m in store.list_sms("failed")] == [a.id]
    assert store.list_sms("delivered") == []


def test_bad_input_is_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        store.queue_sms("anonymous", "a", 1.0)
    with pytest.raises(UnknownCallError):
        store.queue_sms("111", "a", 1.0, call_id="ghost")
    message = store.queue_sms("111", "a", 1.0)
    with pytest.raises(ValueError):
        store.update_sms(message.id, "lost", 2.0)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        store.update_sms(9999, "sent", 2.0)
    assert store.list_sms() == [message]
