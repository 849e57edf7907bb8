#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Measure the SMS gateway's worker against simulated modems (PostgreSQL):

- overhead: texts sent a second end to end (queued to sent, one modem that
  answers at once) and received a second (injected into the SIM to saved
  and answered, the reply queued);
- scaling: texts sent in a fixed time by one modem and by four when the
  network takes two seconds a text;
- failover: with two modems, one goes silent mid-run; the time until it is
  marked failing and its traffic goes through the other.

    python scripts/bench_sms.py --database sms_bench [--messages 2000]
        [--window 30] [--part overhead --part scaling --part failover]

The database is made (and crm_sms_gateway activated) when it is missing;
TRYTOND_DATABASE__URI says where (a PostgreSQL server). Each simulated modem
runs as its own process. It prints the row counts present, each call it
timed and its figures.
"""
import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
PARTS = ['overhead', 'scaling', 'failover']
TARGETS = {'out': 100, 'in': 200, 'scaling': 3.5, 'failover': 60}


class Bench:

    def __init__(self, args):
        from proteus import Model
        self.args = args
        self.rng = random.Random(args.seed)
        self.Model = Model
        self.Modem = Model.get('crm.sms.modem')
        self.Message = Model.get('crm.sms.message')
        self.simulators = []

    # Set-up

    def prepare(self):
        "A company, the limits lifted, customers to text"
        from proteus import config

        from trytond.modules.company.tests.tools import create_company
        from trytond.modules.crm_sms_gateway.tests.tools import (
            create_customers)
        Company = self.Model.get('company.company')
        if not Company.find([]):
            create_company()
        else:
            User = self.Model.get('res.user')
            config.get_config()._context = User.get_preferences(True, {})
        Configuration = self.Model.get('crm.configuration')
        configuration = Configuration(1)
        # Every text gets its answer: no sender hits a rate limit here
        configuration.sms_number_rate_limit = 1_000_000
        configuration.sms_reply_limit = 1_000_000
        configuration.save()
        self.numbers = [f'+86139{i:08d}' for i in range(200)]
        Mechanism = self.Model.get('party.contact_mechanism')
        known = {m.value_compact for m in Mechanism.find(
                [('value_compact', 'in', self.numbers)])}
        missing = [n for n in self.numbers if n not in known]
        if missing:
            create_customers(missing)

    def modems(self, count, **options):
        "count simulated modems and their records, the others deactivated"
        from trytond.modules.crm_sms_gateway.tests.tools import (
            SimulatorProcess)
        self.stop_simulators()
        for modem in self.Modem.find([]):
            modem.active = False
            modem.save()
        self.simulators = [SimulatorProcess(**options) for _ in range(count)]
        records = []
        for index, simulated in enumerate(self.simulators):
            modem = self.Modem(name=f"bench {index}", port=simulated.url,
                command_timeout=self.args.command_timeout)
            modem.save()
            records.append(modem)
        return records

    def stop_simulators(self):
        for simulated in self.simulators:
            simulated.stop()
        self.simulators = []

    def queue(self, count):
        "Queue count one-part Chinese texts to the customers"
        from trytond.modules.crm_sms_gateway.tests.tools import (
            chinese_text, queue_messages)
        start = time.perf_counter()
        queue_messages([(self.rng.choice(self.numbers),
                    f'{i} ' + chinese_text(self.rng, 30))
                for i in range(count)])
        print(f"  queued {count} texts in "
            f"{time.perf_counter() - start:.1f} s (not timed below)")

    def cancel_queued(self):
        "Leave no queued text to the next part"
        queued = self.Message.find([('state', '=', 'queued')])
        if queued:
            self.Message.click(queued, 'cancel')

    def count(self, domain, model='crm.sms.message'):
        "How many records of model match domain, without reading them"
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        with Transaction().start(self.args.database, 0, readonly=True):
            return Pool().get(model).search_count(domain)

    def rows(self):
        print("  rows present: " + ', '.join(
                f'{m} {self.count([], m)}' for m in ['party.party',
                    'crm.customer', 'crm.sms.modem', 'crm.sms.message',
                    'crm.sms.pdu']))

    def run_gateway(self, duration, modems):
        "The call timed: the worker's pass, as scripts/sms_worker.py runs it"
        return self.Modem.run_gateway(duration, [m.id for m in modems], {})

    # The parts

    def drain(self, modem, direction, states, count):
        """Run the worker's passes until count texts of direction are in
        states: return the seconds until they were, the idle end of the last
        pass left out"""
        import threading
        sql = ("SELECT COUNT(id) FROM crm_sms_message WHERE direction = '%s' "
            "AND state IN (%s)" % (
                direction, ', '.join(f"'{s}'" for s in states)))
        print("  timed: Modem.run_gateway(30, [modem]) until the texts are "
            "done; a watcher counts them every 0.1 s, so the second the "
            "pass waits idle before it ends is not counted")
        start = time.perf_counter()
        finished = []
        stop = threading.Event()

        def watch():
            # Plain SQL on its own connection: the watcher must not take the
            # worker's time in this process
            from trytond import backend
            database = backend.Database(self.args.database).connect()
            connection = database.get_connection(autocommit=True)
            try:
                cursor = connection.cursor()
                while not stop.wait(0.1):
                    cursor.execute(sql)
                    if cursor.fetchone()[0] >= count:
                        finished.append(time.perf_counter())
                        return
            finally:
                database.put_connection(connection)
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            passes = 0
            while not finished:
                passes += 1
                done = self.run_gateway(30, [modem])
                print(f"    pass {passes}: {done}, "
                    f"{time.perf_counter() - start:.1f} s")
                if not any(done.values()):
                    break
        finally:
            stop.set()
            watcher.join()
        if not finished:
            sys.exit(f"  the texts were not all done after {passes} passes")
        return finished[0] - start

    def overhead(self):
        count = self.args.messages
        print(f"overhead, 1 modem answering at once, {count} texts:")
        modem, = self.modems(1)
        self.queue(count)
        self.rows()
        sent = ['sent', 'delivered']
        before = self.count([('direction', '=', 'out'), ('state', 'in', sent)])
        elapsed = self.drain(modem, 'out', sent, before + count)
        print(f"  OUT: {count} texts sent in {elapsed:.1f} s: "
            f"{count / elapsed:.0f} texts/s (target >= {TARGETS['out']})")
        self.outbound_per_second = count / elapsed

        print(f"inbound, {count} texts injected into a 30-place SIM "
            "(the network holds the rest), replies held by a rate limit "
            "of one a minute:")
        modem.rate_limit = 1
        modem.save()
        simulated, = self.simulators
        handled = ['processed', 'rejected']
        before = self.count([('direction', '=', 'in'),
                ('state', 'in', handled)])
        for i in range(count):
            text = f'CX {i}' if i % 2 else f'{i} 你好，请问怎么办'
            simulated.call('inject', sender=self.numbers[i % 200], text=text)
        self.rows()
        elapsed = self.drain(modem, 'in', handled, before + count)
        replies = self.count([('reply_to', '!=', None),
                ('state', '=', 'queued')])
        print(f"  IN: {count} texts saved, handled and answered in "
            f"{elapsed:.1f} s: {count / elapsed:.0f} texts/s "
            f"(target >= {TARGETS['in']}); {replies} replies queued")
        self.inbound_per_second = count / elapsed
        self.cancel_queued()

    def scaling(self):
        window = self.args.window
        sent = {}
        for count in (1, 4):
            print(f"scaling: {count} modem(s), 2 s a text, {window} s:")
            modems = self.modems(count, send_delay=2)
            self.queue(int(window / 2 * count * 1.5) + 10)
            self.rows()
            print(f"  timed: Modem.run_gateway({window}, {count} modems); "
                "counted: the texts the modems finished within the window")
            start = time.time()
            done = self.run_gateway(window, modems)
            print(f"    pass: {done}, {time.time() - start:.1f} s")
            sent[count] = sum(1 for s in self.simulators
                for m in s.call('snapshot')['sent']
                if m['time'] <= start + window)
            print(f"  {count} modem(s): {sent[count]} texts in {window} s")
            self.cancel_queued()
        ratio = sent[4] / sent[1] if sent[1] else float('inf')
        print(f"  SCALING: 4 modems send {ratio:.2f} times what one does "
            f"(target >= {TARGETS['scaling']})")
        self.ratio = ratio

    def failover(self):
        delay = self.args.failover_delay
        print(f"failover: 2 modems, {delay} s a text, one silenced mid-run, "
            f"command timeout {self.args.command_timeout} s:")
        modems = self.modems(2, send_delay=delay)
        self.queue(int(120 / delay) * 2)
        self.rows()
        worker = subprocess.Popen([sys.executable,
                str(SCRIPTS / 'sms_worker.py'), '--database',
                self.args.database, '--slice', '20', '--idle', '0.2'],
            stdout=subprocess.DEVNULL)
        try:
            silent, other = modems
            # Both modems at work first
            deadline = time.monotonic() + 60
            while (time.monotonic() < deadline and not all(
                        s.call('snapshot')['sent'] for s in self.simulators)):
                time.sleep(0.2)
            time.sleep(2)
            print("  timed: from Control.call('silent') on modem 0 until it "
                "is failing and holds no text")
            before = len(self.simulators[1].call('snapshot')['sent'])
            self.simulators[0].call('silent')
            start = time.monotonic()
            in_hand = [m.id for m in self.Message.find([
                        ('modem', '=', silent.id), ('state', '=', 'sending')])]
            failing = released = None
            while time.monotonic() - start < 120 and not (
                    failing and released):
                silent.reload()
                now = time.monotonic() - start
                if failing is None and silent.health == 'failing':
                    failing = now
                if released is None and not self.count([
                            ('modem', '=', silent.id),
                            ('state', '=', 'sending')]):
                    released = now
                time.sleep(0.25)
            elapsed = time.monotonic() - start
            after = len(self.simulators[1].call('snapshot')['sent'])
        finally:
            worker.terminate()
            try:
                worker.wait(90)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        silent.reload()
        print(f"  modem 0 failing after {failing} s, holding no text after "
            f"{released} s; its last error: {silent.last_error}")
        held = self.Message.find([('id', 'in', in_hand)])
        print("  the texts it had in hand when it went silent "
            "(state, review, modem): " + str([(m.state, m.review,
                        m.modem.name if m.modem else None) for m in held]))
        print(f"  modem 1 sent {after - before} texts in those {elapsed:.1f} s"
            f" ({(after - before) / elapsed:.2f}/s, "
            f"{1 / delay:.2f}/s at most)")
        took = max(failing or float('inf'), released or float('inf'))
        print(f"  FAILOVER: {took:.1f} s (target < {TARGETS['failover']})")
        self.failover_seconds = took
        self.cancel_queued()


def main():
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--messages', type=int, default=2000)
    parser.add_argument('--window', type=float, default=30,
        help="seconds of the scaling runs")
    parser.add_argument('--command-timeout', type=float, default=10,
        help="the modems' command timeout (their default)")
    parser.add_argument('--failover-delay', type=float, default=1,
        help="seconds the network takes a text in the failover run")
    parser.add_argument('--part', action='append', choices=PARTS)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    if not os.environ.get('TRYTOND_DATABASE__URI', '').startswith(
            'postgresql'):
        parser.error("set TRYTOND_DATABASE__URI to a PostgreSQL server")

    sys.path.insert(0, str(SCRIPTS))
    from connect import connect, create_database
    created = create_database(args.database, ['crm_sms_gateway'])
    connect(args.database)
    print(f"database {args.database} ({'made' if created else 'present'}), "
        f"{os.cpu_count()} CPUs")
    bench = Bench(args)
    bench.prepare()
    # The set-up borrows the modules' test helpers, whose import turns on
    # trytond's test mode (Function fields validated on every save): the
    # worker timed here runs as the cron and sms_worker.py run it
    from trytond.pool import Pool
    Pool.test = False
    try:
        for part in args.part or PARTS:
            getattr(bench, part)()
    finally:
        bench.stop_simulators()


if __name__ == '__main__':
    sys.exit(main())
