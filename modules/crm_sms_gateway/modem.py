# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The GSM modems the gateway drives, and their health."""
from urllib.parse import urlparse

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.rpc import RPC
from trytond.transaction import Transaction, without_check_access

from .exceptions import SMSValidationError
from .worker import Pass

# The schemes pyserial opens, and a device path for a local port
PORT_SCHEMES = {'socket', 'rfc2217', 'loop', 'spy', 'alt', 'hwgrep', ''}


class Modem(DeactivableMixin, ModelSQL, ModelView):
    "SMS Modem"
    __name__ = 'crm.sms.modem'

    name = fields.Char("Name", required=True)
    company = fields.Many2One(
        'company.company', "Company", required=True,
        help="The company whose messages the modem sends and receives.")
    port = fields.Char(
        "Port", required=True,
        help="A pyserial URL: /dev/ttyUSB0, socket://host:port, "
        "rfc2217://host:port.")
    baudrate = fields.Integer(
        "Baud Rate", required=True,
        domain=[('baudrate', '>', 0)])
    pin = fields.Char(
        "SIM PIN", strip=True,
        help="Entered once when the SIM asks for it. A PIN the SIM refuses "
        "is not tried again until it is changed here.")
    smsc = fields.Char(
        "Service Centre", strip=True,
        help="The SMSC number, when the SIM's own is wrong.")
    storage = fields.Selection([
            ('SM', "SIM"),
            ('ME', "Modem"),
            ('MT', "SIM and Modem"),
            ], "Storage", required=True)
    rate_limit = fields.Integer(
        "Messages per Minute",
        domain=['OR',
            ('rate_limit', '=', None),
            ('rate_limit', '>', 0),
            ],
        help="At most this many messages (parts) a minute; "
        "empty for as fast as the modem goes.")
    command_timeout = fields.Float(
        "Command Timeout", required=True,
        domain=[('command_timeout', '>', 0)],
        help="Seconds to wait for an answer before the modem is "
        "considered silent.")

    # Health, written by the worker
    signal = fields.Integer("Signal (dBm)", readonly=True)
    registration = fields.Selection([
            (None, ''),
            ('0', "Not Registered"),
            ('1', "Home Network"),
            ('2', "Searching"),
            ('3', "Registration Denied"),
            ('4', "Unknown"),
            ('5', "Roaming"),
            ], "Registration", readonly=True,
        help="The modem's registration on the network (AT+CREG).")
    operator = fields.Char("Operator", readonly=True)
    last_contact = fields.DateTime("Last Contact", readonly=True)
    messages_sent = fields.Integer("Messages Sent", readonly=True)
    messages_received = fields.Integer("Messages Received", readonly=True)
    error_count = fields.Integer("Errors", readonly=True)
    consecutive_errors = fields.Integer("Consecutive Errors", readonly=True)
    last_error = fields.Char("Last Error", readonly=True)
    last_error_date = fields.DateTime("Last Error Date", readonly=True)
    retry_after = fields.DateTime(
        "Retry After", readonly=True,
        help="A failing modem is left alone until then.")
    pin_refused = fields.Boolean(
        "PIN Refused", readonly=True,
        help="The SIM refused the PIN or asks for a PUK: the modem is not "
        "used until someone checks it and changes the PIN.")
    health = fields.Function(fields.Selection([
                ('unknown', "Unknown"),
                ('ok', "OK"),
                ('failing', "Failing"),
                ('locked', "SIM Locked"),
                ], "Health"), 'get_health')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))
        cls.__rpc__.update({
                'run_gateway': RPC(readonly=False),
                })
        cls._buttons.update({
                'reset_health': {
                    'icon': 'tryton-refresh',
                    },
                'run': {
                    'icon': 'tryton-launch',
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_baudrate(cls):
        return 115200

    @classmethod
    def default_storage(cls):
        return 'SM'

    @classmethod
    def default_command_timeout(cls):
        return 10.0

    @classmethod
    def default_pin_refused(cls):
        return False

    def get_health(self, name):
        if self.pin_refused:
            return 'locked'
        if self.consecutive_errors:
            return 'failing'
        if self.last_contact:
            return 'ok'
        return 'unknown'

    @classmethod
    def validate_fields(cls, modems, field_names):
        super().validate_fields(modems, field_names)
        if 'port' in field_names:
            for modem in modems:
                modem.check_port()

    def check_port(self):
        port = self.port or ''
        scheme = urlparse(port).scheme if '://' in port else ''
        if scheme not in PORT_SCHEMES or (not scheme and not port.startswith(
                    ('/', 'COM'))):
            raise SMSValidationError(gettext(
                    'crm_sms_gateway.msg_modem_port_invalid',
                    modem=self.rec_name, port=port))

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        args = []
        for modems, values in zip(actions, actions):
            if 'pin' in values:
                # A new PIN may be the right one: try it once, now
                values = dict(values, pin_refused=False,
                    consecutive_errors=0, retry_after=None)
            args.extend((modems, values))
        super().write(*args)

    @classmethod
    def copy(cls, modems, default=None):
        default = default.copy() if default is not None else {}
        for name in ['signal', 'registration', 'operator', 'last_contact',
                'messages_sent', 'messages_received', 'error_count',
                'consecutive_errors', 'last_error', 'last_error_date',
                'retry_after']:
            default.setdefault(name, None)
        default.setdefault('pin_refused', False)
        return super().copy(modems, default=default)

    @classmethod
    @ModelView.button
    def reset_health(cls, modems):
        "Use the modems again now, after someone checked them"
        cls.write(modems, {
                'consecutive_errors': 0,
                'retry_after': None,
                'pin_refused': False,
                })

    @classmethod
    def run_gateway(cls, duration=None, modem_ids=None):
        """Drive the modems for at most duration seconds (the configured
        slice by default), ending sooner when there is nothing to do

        Return what was done: sent, received, processed, expired.
        """
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        ModelAccess = pool.get('ir.model.access')
        # Called by RPC (scripts/sms_worker.py), the worker needs the access
        # a button has: it writes records no user may, the received PDUs
        ModelAccess.check(cls.__name__, 'write')
        if duration is None:
            duration = Configuration(1).sms_worker_slice
        with without_check_access():
            return Pass(duration, modem_ids).run()

    @classmethod
    @ModelView.button
    def run(cls, modems):
        "Send and receive through the modems now"
        cls.run_gateway(modem_ids=[m.id for m in modems])
