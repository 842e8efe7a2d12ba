"""A real SMTP server on loopback for the tests (aiosmtpd).

Every accepted message is stored as an .eml file in --out. Recipients listed with --reject are
refused with 550, as a server refuses an unknown mailbox. While a file `.full` is in --out the
mailbox is full (552 5.2.2, as a server over its owner's quota answers); when --out's disk is full
the message is refused with 452 4.3.1, as a server out of spool space does. Prints "ready" once
it listens.
"""
import errno
import argparse
import asyncio
import os
import signal
import threading
import uuid

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, out, reject, stall_first):
        self.out = out
        self.reject = set(reject)
        self.stall_first = stall_first

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall_first:
            # Hold the first message after its data arrived, as a slow server does: the sender
            # may die before it hears "250", though the message is already ours.
            seconds, self.stall_first = self.stall_first, 0
            open(os.path.join(self.out, ".stalling"), "w").close()
            await asyncio.sleep(seconds)
        if os.path.exists(os.path.join(self.out, ".full")):
            return "552 5.2.2 Mailbox full: over quota"
        name = uuid.uuid4().hex
        tmp = os.path.join(self.out, "." + name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(envelope.original_content)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(self.out, name + ".eml"))
        except OSError as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                return "452 4.3.1 Insufficient system storage"
            raise
        return "250 2.0.0 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--stall-first", type=float, default=0, help="seconds to hold the first message before accepting it")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    controller = Controller(Store(args.out, args.reject, args.stall_first), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
