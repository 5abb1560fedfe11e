# The Python clients of client_failover.py, each with its library's DEFAULT retry settings (only
# the bootstrap servers, acks=all and, for consumers, a group and earliest as the reset policy are
# set): a producer writing numbered records "PREFIX:SEQ" to partition 0 of a topic, one process,
# about RATE records a second, and a group consumer. Each writes a JSON-lines history (one event
# a line, flushed): producer: send (seq), ack (seq, offset), fail (seq, error), closed;
# consumer: seen (offset, value), error, closed. Runs until SIGTERM, then finishes cleanly
# (a producer flushes for up to 30 s).
#
#   failover_client.py confluent-produce|kafkapython-produce --bootstrap B --topic T
#                      --prefix P --out FILE [--rate R]
#   failover_client.py confluent-consume|kafkapython-consume --bootstrap B --topic T
#                      --group G --out FILE
import argparse
import signal
import sys
import time

from workload import History  # the harness's JSON-lines event file

_stop = False


def _on_term(_signo, _frame):
    global _stop
    _stop = True


def paced(rate):
    """Yields 0, 1, 2, ... about rate times a second until SIGTERM."""
    interval = 1.0 / rate
    next_at = time.monotonic()
    seq = 0
    while not _stop:
        yield seq
        seq += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            yield_sleep(delay)
        else:
            next_at = time.monotonic()


_poll = None  # the client's own way of waiting (serves its callbacks)


def yield_sleep(s):
    """Sleeps s seconds; a librdkafka client's poll() serves callbacks meanwhile (and returns
    early when it served one, hence the loop)."""
    end = time.monotonic() + s
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        if _poll:
            _poll(left)
        else:
            time.sleep(left)


def confluent_produce(a, h):
    global _poll
    from confluent_kafka import KafkaException, Producer
    # librdkafka defaults: acks=all, enable.idempotence=false, retries without end within
    # message.timeout.ms (300 s).
    p = Producer({"bootstrap.servers": a.bootstrap, "acks": "all",
                  "error_cb": lambda err: h.write("error", err=str(err))})
    _poll = p.poll

    def cb(seq):
        def on_delivery(err, msg):
            if err is None:
                h.write("ack", seq=seq, o=msg.offset())
            else:
                h.write("fail", seq=seq, err=str(err))
        return on_delivery

    for seq in paced(a.rate):
        h.write("send", seq=seq)
        try:
            p.produce(a.topic, value=f"{a.prefix}:{seq}".encode(), partition=0,
                      on_delivery=cb(seq))
        except (BufferError, KafkaException) as e:
            h.write("fail", seq=seq, err=f"produce(): {e}")
        p.poll(0)
    left = p.flush(30)
    h.write("closed", unflushed=left)


def kafkapython_produce(a, h):
    from kafka import KafkaProducer
    # kafka-python defaults (2.0.2): retries=0, no idempotence; acks set to all.
    p = KafkaProducer(bootstrap_servers=a.bootstrap.split(","), acks="all")

    def ok(seq):
        return lambda md: h.write("ack", seq=seq, o=md.offset)

    def bad(seq):
        return lambda e: h.write("fail", seq=seq, err=f"{type(e).__name__}: {e}")

    for seq in paced(a.rate):
        h.write("send", seq=seq)
        try:
            f = p.send(a.topic, value=f"{a.prefix}:{seq}".encode(), partition=0)
            f.add_callback(ok(seq))
            f.add_errback(bad(seq))
        except Exception as e:  # KafkaTimeoutError when metadata is missing for max_block_ms
            h.write("fail", seq=seq, err=f"send(): {type(e).__name__}: {e}")
    p.flush(timeout=30)
    p.close(timeout=10)
    h.write("closed")


def confluent_consume(a, h):
    from confluent_kafka import Consumer, KafkaError
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group,
                  "auto.offset.reset": "earliest",
                  "error_cb": lambda err: h.write("error", err=str(err))})
    c.subscribe([a.topic])
    while not _stop:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                h.write("error", err=str(m.error()))
            continue
        h.write("seen", o=m.offset(), v=m.value().decode(errors="replace"))
    c.close()
    h.write("closed")


def kafkapython_consume(a, h):
    from kafka import KafkaConsumer
    c = KafkaConsumer(a.topic, bootstrap_servers=a.bootstrap.split(","), group_id=a.group,
                      auto_offset_reset="earliest")
    while not _stop:
        try:
            got = c.poll(timeout_ms=200)
        except Exception as e:
            h.write("error", err=f"{type(e).__name__}: {e}")
            time.sleep(0.2)
            continue
        for msgs in got.values():
            for m in msgs:
                h.write("seen", o=m.offset, v=m.value.decode(errors="replace"))
    c.close()
    h.write("closed")


def main(argv):
    ap = argparse.ArgumentParser(description="client_failover.py's Python clients")
    ap.add_argument("role", choices=("confluent-produce", "kafkapython-produce",
                                     "confluent-consume", "kafkapython-consume"))
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--group", default="")
    ap.add_argument("--rate", type=float, default=20.0)
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    h = History(a.out)
    {"confluent-produce": confluent_produce, "kafkapython-produce": kafkapython_produce,
     "confluent-consume": confluent_consume,
     "kafkapython-consume": kafkapython_consume}[a.role](a, h)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
