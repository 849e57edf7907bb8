# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
import datetime

from trytond.model import fields
from trytond.pool import PoolMeta


def _positive(name):
    return [(name, '>', 0)]


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'

    sms_max_parts = fields.Integer(
        "SMS Maximum Parts", required=True,
        domain=_positive('sms_max_parts'),
        help="A text that costs more messages is refused.")
    sms_max_attempts = fields.Integer(
        "SMS Send Attempts", required=True,
        domain=_positive('sms_max_attempts'),
        help="After this many failed attempts a message is failed.")
    sms_retry_delay = fields.Integer(
        "SMS Retry Delay", required=True,
        domain=_positive('sms_retry_delay'),
        help="Seconds before the first new attempt; "
        "the wait doubles at each attempt.")
    sms_modem_retry_delay = fields.Integer(
        "SMS Modem Retry Delay", required=True,
        domain=_positive('sms_modem_retry_delay'),
        help="Seconds a failing modem is left alone; "
        "the wait doubles while it keeps failing.")
    sms_part_timeout = fields.Integer(
        "SMS Part Timeout", required=True,
        domain=_positive('sms_part_timeout'),
        help="Minutes to wait for the missing parts of a long text "
        "before it is delivered incomplete.")
    sms_rate_window = fields.Integer(
        "SMS Rate Window", required=True,
        domain=_positive('sms_rate_window'),
        help="The minutes over which the texts of a number are counted.")
    sms_number_rate_limit = fields.Integer(
        "SMS Texts per Number", required=True,
        domain=_positive('sms_number_rate_limit'),
        help="Texts from one number beyond this many in the window "
        "are rejected without reply.")
    sms_reply_limit = fields.Integer(
        "SMS Replies per Number", required=True,
        domain=_positive('sms_reply_limit'),
        help="At most this many automatic replies to one number in the "
        "window, so that two auto-responders never loop.")
    sms_worker_slice = fields.Integer(
        "SMS Worker Slice", required=True,
        domain=_positive('sms_worker_slice'),
        help="The seconds each run of the scheduled worker may take at "
        "most; it ends sooner when there is nothing to do.")

    sms_quiet_start = fields.Time(
        "SMS Quiet Hours From",
        help="No marketing text goes out between these hours, "
        "in the company's time zone.")
    sms_quiet_end = fields.Time("SMS Quiet Hours To")
    sms_signature = fields.Char(
        "SMS Signature",
        help="The name marketing texts are signed with, in 【】; "
        "the company's name when empty.")
    sms_part_price = fields.Numeric(
        "SMS Price per Message", digits=(16, 4),
        help="What one message (one part) costs, for the campaign preview.")

    @classmethod
    def default_sms_quiet_start(cls):
        return datetime.time(21, 0)

    @classmethod
    def default_sms_quiet_end(cls):
        return datetime.time(8, 0)

    @classmethod
    def default_sms_max_parts(cls):
        return 10

    @classmethod
    def default_sms_max_attempts(cls):
        return 5

    @classmethod
    def default_sms_retry_delay(cls):
        return 60

    @classmethod
    def default_sms_modem_retry_delay(cls):
        return 30

    @classmethod
    def default_sms_part_timeout(cls):
        return 60

    @classmethod
    def default_sms_rate_window(cls):
        return 60

    @classmethod
    def default_sms_number_rate_limit(cls):
        return 10

    @classmethod
    def default_sms_reply_limit(cls):
        return 5

    @classmethod
    def default_sms_worker_slice(cls):
        return 50
