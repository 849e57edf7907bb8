# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Helpers of the tests and benchmarks that drive whole worker processes:
simulated modems run as their own processes, customers and queued texts
made through proteus."""
import subprocess
import sys

from proteus import Model

from trytond.modules.crm_sms_gateway import simulator

__all__ = ['SimulatorProcess', 'chinese_text', 'create_customers',
    'queue_messages']

# The common CJK ideographs
_CJK_FIRST, _CJK_LAST = 0x4E00, 0x9FA5


class SimulatorProcess:
    """A simulated modem run as its own process, and its control port

    options are the simulator's command line options without their dashes:
    SimulatorProcess(send_delay=2, capacity=30).
    """

    def __init__(self, **options):
        command = [sys.executable, '-m', simulator.__name__, '--port', '0']
        for name, value in options.items():
            command += ['--' + name.replace('_', '-'), str(value)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
            text=True)
        self.url = self.process.stdout.readline().strip()
        address = self.process.stdout.readline().partition(': ')[2].strip()
        if not self.url.startswith('socket://') or not address:
            self.stop()
            raise RuntimeError("the simulator did not start")
        self.control = simulator.Control(address)

    def call(self, op, **arguments):
        return self.control.call(op, **arguments)

    def stop(self):
        if getattr(self, 'control', None):
            self.control.close()
            self.control = None
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process.stdout.close()


def chinese_text(rng, length):
    "length ideographs picked by rng (a random.Random)"
    return ''.join(chr(rng.randint(_CJK_FIRST, _CJK_LAST))
        for _ in range(length))


def create_customers(numbers, config=None):
    "A customer (party with that mobile number) for each of numbers"
    Party = Model.get('party.party', config=config)
    Customer = Model.get('crm.customer', config=config)
    parties = []
    for index, number in enumerate(numbers):
        party = Party(name=f"客户 {index}")
        party.contact_mechanisms.new(type='mobile', value=number)
        parties.append(party)
    Party.save(parties)
    customers = [Customer(party=p) for p in parties]
    Customer.save(customers)
    return customers


def queue_messages(items, config=None):
    "Queue outbound texts: items are (number, body)"
    Message = Model.get('crm.sms.message', config=config)
    messages = [Message(number=n, body=b) for n, b in items]
    Message.save(messages)
    return messages
