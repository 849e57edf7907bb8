# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Workers killed (SIGKILL) at random moments lose and repeat nothing

Two scripts/sms_worker.py processes drive two simulated modems, each run as
its own process (one drives the first modem, the other any it can lock),
while hundreds of texts go out and come in, in waves; after each wave one of
the workers, once it runs its passes, is killed at a random moment of its
work and started again. Afterwards every text
that came in is recorded once and whole, the SIMs are empty, and no text
reached a modem twice nor is left queued or sending.
"""
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from sql import Null
from sql.aggregate import Count, Sum

from trytond import backend
from trytond.modules.company.tests.tools import create_company
from trytond.modules.crm_sms_gateway import pdu
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction

from .tools import (
    SimulatorProcess, chinese_text, create_customers, queue_messages)

SEED = int(os.environ.get('CRM_SMS_KILL_SEED', 20260214))
CUSTOMERS = 60
# scripts/soak_sms.py runs the test with thousands of texts and more kills
OUTBOUND = INBOUND = int(os.environ.get('CRM_SMS_KILL_TEXTS', 300))
KILLS = int(os.environ.get('CRM_SMS_KILLS', 10))
# Seconds between a worker's first pass and its kill: a pass takes up to 4
# (--slice), a wave keeps the modems busy a few seconds (SEND_DELAY)
KILL_AFTER = (0.2, 4.0)
SEND_DELAY = 0.05
# Seconds a worker may take to start (loading the pool), on a busy machine
START = 60
# Seconds the work may take once the killing stopped
SETTLE = 90


def worker_script():
    "scripts/sms_worker.py of the checkout the module is tested from"
    for folder in Path(__file__).resolve().parents:
        script = folder / 'scripts' / 'sms_worker.py'
        if script.exists():
            return script
    raise FileNotFoundError(
        "scripts/sms_worker.py is not above " + str(Path(__file__).parent))


def _body(rng, serial):
    "A unique text: short ASCII commands, Chinese texts of one to 3 parts"
    kind = serial % 4
    if kind == 0:
        return f'CX {serial}'
    length = {1: 20, 2: 100, 3: 180}[kind]
    return f'{serial:04d} ' + chinese_text(rng, length)


# Only PostgreSQL has the locks that let several worker processes share the
# modems (SQLite runs one worker and has no such test): on SQLite this
# module defines no test at all rather than a skipped one.
if backend.name == 'postgresql':

    class WorkerKillTestCase(unittest.TestCase):
        "Workers killed at random moments"

        def setUp(self):
            drop_db()
            self.addCleanup(drop_db)
            self.rng = random.Random(SEED)
            self.workers = {}
            self.outputs = {}
            self.config = activate_modules('crm_sms_gateway', create_company)
            self.modems = []
            for _ in range(2):
                modem = SimulatorProcess(send_delay=SEND_DELAY)
                self.addCleanup(modem.stop)
                self.modems.append(modem)
            # Cleanups run last first: the workers stop before the modems
            # and the database go
            self.addCleanup(self.stop_workers)
            self.log = []

        def say(self, text):
            print(f'[kill test {time.monotonic() - self.start:6.1f}s] {text}',
                flush=True)

        # Set-up of the data

        def prepare(self):
            from proteus import Model
            Modem = Model.get('crm.sms.modem')
            for index, simulated in enumerate(self.modems):
                Modem(name=f"Modem {index}", port=simulated.url).save()
            self.numbers = [f'+86138{i:08d}' for i in range(CUSTOMERS)]
            create_customers(self.numbers)
            self.outbound = []
            self.inbound = []

        def wave(self, number):
            "Queue and inject the number-th tenth of the texts"
            outbound = [(self.rng.choice(self.numbers), _body(self.rng, s))
                for s in range(number * OUTBOUND // KILLS,
                    (number + 1) * OUTBOUND // KILLS)]
            queue_messages(outbound)
            self.outbound += outbound
            for serial in range(number * INBOUND // KILLS,
                    (number + 1) * INBOUND // KILLS):
                sender = self.numbers[serial % CUSTOMERS]
                text = _body(self.rng, 10000 + serial)
                self.modems[serial % 2].call('inject', sender=sender,
                    text=text, reference=serial % 256)
                self.inbound.append((sender, text))

        # The workers

        def start_worker(self, slot):
            "Worker 0 drives the first modem, worker 1 any it can lock"
            output = tempfile.TemporaryFile('w+')
            self.addCleanup(output.close)
            self.workers[slot] = subprocess.Popen(
                [sys.executable, str(worker_script()), '--database', DB_NAME,
                    '--slice', '4', '--idle', '0.2']
                + (['--modem', 'Modem 0'] if slot == 0 else []),
                stdout=output, env=os.environ)
            self.outputs[slot] = output

        def passes(self, slot):
            "The passes the worker in slot finished (one JSON line each)"
            self.outputs[slot].seek(0)
            return len(self.outputs[slot].readlines())

        def kill_worker(self, slot):
            "Kill the worker at a random moment once it runs its passes"
            deadline = time.monotonic() + START
            while not self.passes(slot) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(self.passes(slot), msg="the worker did not start")
            time.sleep(self.rng.uniform(*KILL_AFTER))
            self.workers[slot].send_signal(signal.SIGKILL)
            self.workers[slot].wait()
            return self.passes(slot)

        def stop_workers(self):
            for process in self.workers.values():
                if process.poll() is None:
                    process.terminate()
            for process in self.workers.values():
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

        # What the database and the modems hold

        def progress(self):
            with Transaction().start(DB_NAME, 0, readonly=True) as t:
                pool = Pool()
                message = pool.get('crm.sms.message').__table__()
                received = pool.get('crm.sms.pdu').__table__()
                modem = pool.get('crm.sms.modem').__table__()
                cursor = t.connection.cursor()
                cursor.execute(*message.select(message.direction,
                        message.state, Count(message.id),
                        group_by=[message.direction, message.state]))
                states = {f'{d} {s}': n for d, s, n in cursor}
                cursor.execute(*received.select(Count(received.id),
                        where=(received.message == Null)
                        & (received.kind == 'deliver')))
                states['parts waiting'], = cursor.fetchone()
                cursor.execute("SELECT COUNT(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND wait_event_type = 'Lock'",
                    (DB_NAME,))
                states['waiting on a lock'], = cursor.fetchone()
                cursor.execute(*modem.select(Sum(modem.error_count)))
                states['modem errors'], = cursor.fetchone()
            snapshots = [m.call('snapshot') for m in self.modems]
            states['on SIM'] = sum(len(s['storage']) for s in snapshots)
            states['in network'] = sum(s['network'] for s in snapshots)
            return states, snapshots

        def finished(self, states):
            inbound = sum(n for k, n in states.items()
                if k.startswith('in '))
            return (inbound == INBOUND
                and not states.get('in received')
                and not states.get('out queued')
                and not states.get('out sending')
                and not states['parts waiting']
                and not states['on SIM'] and not states['in network'])

        def messages(self):
            with Transaction().start(DB_NAME, 0, readonly=True) as t:
                table = Pool().get('crm.sms.message').__table__()
                cursor = t.connection.cursor()
                cursor.execute(*table.select(table.direction, table.number,
                        table.body, table.state, table.review,
                        table.incomplete, table.concat_reference))
                return cursor.fetchall()

        # The test

        def test_kill(self):
            self.start = time.monotonic()
            self.prepare()
            for slot in range(2):
                self.start_worker(slot)
            for kill in range(1, KILLS + 1):
                self.wave(kill - 1)
                self.say(f"wave {kill}: {len(self.outbound)} texts queued "
                    f"to {CUSTOMERS} customers and {len(self.inbound)} "
                    "injected into 2 simulated SIMs so far")
                slot = self.rng.randrange(2)
                passes = self.kill_worker(slot)
                states, _ = self.progress()
                self.say(f"kill {kill}: worker {slot} killed after {passes} "
                    f"passes; {states}")
                self.start_worker(slot)
            deadline = time.monotonic() + SETTLE
            while True:
                states, snapshots = self.progress()
                if self.finished(states) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            self.stop_workers()
            self.say(f"after the kills: {states}")
            self.assertTrue(self.finished(states), msg=states)
            self.check_inbound(snapshots)
            self.check_outbound(snapshots)

        def check_inbound(self, snapshots):
            "Every text injected is recorded once, whole; the SIMs are empty"
            recorded = collections.Counter(
                (number, body) for direction, number, body, *_
                in self.messages() if direction == 'in')
            injected = collections.Counter(self.inbound)
            self.assertEqual(recorded, injected)
            incomplete = [m for m in self.messages()
                if m[0] == 'in' and m[5]]
            self.assertEqual(incomplete, [])
            for snapshot in snapshots:
                self.assertEqual(snapshot['storage'], {})
                self.assertEqual(snapshot['network'], 0)
            self.say(f"inbound: {len(injected)} injected, "
                f"{sum(recorded.values())} recorded, none twice")

        def check_outbound(self, snapshots):
            """No text reached a modem twice, those marked sent did once

            A part is known by its recipient, sequence, total and text (the
            concatenation reference is picked when the text is first sent).
            A message a dead worker left sending is unconfirmed and marked
            for review: it reached the modem once or never, and is not
            sent again.
            """
            expected = collections.defaultdict(list)  # part: states
            for direction, number, body, state, review, _, reference \
                    in self.messages():
                if direction != 'out':
                    continue
                self.assertNotIn(state, {'queued', 'sending'})
                self.assertEqual(review, state == 'unconfirmed')
                parts = pdu.encode_submit(number, body, reference=reference)
                for part in parts:
                    decoded = pdu.decode(part.hex)
                    concat = decoded.concat
                    key = (number, decoded.text,
                        concat.sequence if concat else 1,
                        concat.total if concat else 1)
                    expected[key].append(state)
            sent = collections.Counter(
                (s['recipient'], s['text'], s['sequence'], s['total'])
                for snapshot in snapshots for s in snapshot['sent'])
            self.assertLessEqual(set(sent), set(expected))
            for key, states in expected.items():
                confirmed = sum(s in {'sent', 'delivered'} for s in states)
                self.assertGreaterEqual(sent[key], confirmed, msg=key)
                self.assertLessEqual(sent[key], len(states), msg=key)
            outbound = collections.Counter(
                m[3] for m in self.messages() if m[0] == 'out')
            self.say(f"outbound: {dict(outbound)}; {sum(sent.values())} "
                "parts reached the modems, none twice")
