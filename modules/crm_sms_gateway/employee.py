# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Employees reached by text: a number proved by a code sent to it, the
notifications they get there, and the commands only they may send."""
import datetime
import hashlib
import json
import secrets

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.crm_customer.party import normalize_phone
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import SMSValidationError
from .message import utc_now

# How long a verification code may be answered
CODE_VALIDITY = datetime.timedelta(hours=1)


def _code_digest(employee_id, number, code):
    return hashlib.sha256(
        f'{employee_id}:{number}:{code}'.encode()).hexdigest()


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'

    sms_number = fields.Char(
        "SMS Number",
        help="The mobile number the employee gets texts on and may send "
        "commands from, once verified.")
    sms_verified = fields.Boolean(
        "SMS Number Verified", readonly=True,
        help="The employee answered the code sent to the number.")
    sms_notifications = fields.Boolean(
        "Notifications by SMS",
        states={
            'invisible': ~Eval('sms_number'),
            },
        help="Send the employee's Tryton notifications to the number too, "
        "once verified.")
    sms_code_digest = fields.Char("SMS Code Digest", readonly=True)
    sms_code_expiry = fields.DateTime("SMS Code Expiry", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'send_sms_code': {
                    'invisible': ~Bool(Eval('sms_number')),
                    'depends': ['sms_number'],
                    },
                })

    @classmethod
    def default_sms_verified(cls):
        return False

    @classmethod
    def default_sms_notifications(cls):
        return True

    @classmethod
    def _sms_reset(cls, values):
        # A new number proves nothing until it is answered again
        if 'sms_number' in values:
            values = values.copy()
            pool = Pool()
            Configuration = pool.get('crm.configuration')
            number = values['sms_number']
            if number:
                e164 = normalize_phone(
                    number, Configuration.phone_country_code())
                if not e164:
                    raise SMSValidationError(gettext(
                            'crm_sms_gateway.msg_message_number_invalid',
                            number=number))
                values['sms_number'] = e164
            values.update(sms_verified=False, sms_code_digest=None,
                sms_code_expiry=None)
        return values

    @classmethod
    def create(cls, vlist):
        return super().create([cls._sms_reset(v) for v in vlist])

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        args = []
        for employees, values in zip(actions, actions):
            args.extend((employees, cls._sms_reset(values)))
        super().write(*args)

    @classmethod
    def copy(cls, employees, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('sms_number')
        return super().copy(employees, default=default)

    @classmethod
    @ModelView.button
    def send_sms_code(cls, employees):
        "Text a code to each number; the employee answers it to verify"
        pool = Pool()
        Message = pool.get('crm.sms.message')
        Command = pool.get('crm.sms.command')
        keyword = Command.first_keyword('verify')
        for employee in employees:
            code = f'{secrets.randbelow(10 ** 6):06d}'
            employee.sms_code_digest = _code_digest(
                employee.id, employee.sms_number, code)
            employee.sms_code_expiry = utc_now() + CODE_VALIDITY
            language = (employee.party.lang.code if employee.party.lang
                else None)
            with Transaction().set_context(language=language):
                body = gettext('crm_sms_gateway.msg_verification_code',
                    company=employee.company.party.name, keyword=keyword,
                    code=code)
            Message.send(employee.sms_number, body,
                company=employee.company, party=employee.party,
                document=employee)
        # Whoever may press the button may store the code
        with without_check_access():
            cls.save(employees)

    def sms_code_matches(self, number, code):
        return bool(self.sms_code_digest
            and self.sms_code_expiry and self.sms_code_expiry >= utc_now()
            and secrets.compare_digest(self.sms_code_digest,
                _code_digest(self.id, number, code)))

    @classmethod
    def by_verified_number(cls, company, numbers):
        "The employees of company by their verified number among numbers"
        employees = cls.search([
                ('company', '=', int(company)),
                ('sms_number', 'in', list(numbers)),
                ('sms_verified', '=', True),
                ])
        return {e.sms_number: e for e in employees}


class Command(metaclass=PoolMeta):
    __name__ = 'crm.sms.command'

    @classmethod
    def get_actions(cls):
        return super().get_actions() + [('verify', "Verify Employee Number")]

    def handle_verify(self, requests):
        pool = Pool()
        Employee = pool.get('company.employee')
        replies = []
        for message, content in requests:
            code = content.split()[0] if content.split() else ''
            employees = Employee.search([
                    ('company', '=', message.company.id),
                    ('sms_number', '=', message.number),
                    ])
            employee = next(
                (e for e in employees
                    if e.sms_code_matches(message.number, code)), None)
            if not employee:
                message.state = 'rejected'
                message.error_text = gettext(
                    'crm_sms_gateway.msg_verification_wrong')
                replies.append(message.error_text)
                continue
            employee.sms_verified = True
            employee.sms_code_digest = None
            employee.sms_code_expiry = None
            Employee.save([employee])
            message.document = employee
            replies.append(gettext('crm_sms_gateway.msg_verification_done',
                    employee=employee.rec_name))
        return replies


class Notification(metaclass=PoolMeta):
    __name__ = 'res.notification'

    @classmethod
    def create(cls, vlist):
        notifications = super().create(vlist)
        Pool().get('crm.sms.message').send_notifications(notifications)
        return notifications


class Message(metaclass=PoolMeta):
    __name__ = 'crm.sms.message'

    @classmethod
    def send_notifications(cls, notifications):
        """Text each notification to the verified numbers of its user's
        employees who asked for it, in the user's language"""
        for notification in notifications:
            user = notification.user
            employees = [e for e in user.employees
                if e.sms_verified and e.sms_notifications]
            if not employees:
                continue
            with Transaction().set_context(
                    language=user.language.code if user.language else None):
                body = '\n'.join(filter(None, [
                            notification.label, notification.description,
                            cls.notification_hint(notification)]))
            for employee in employees:
                cls.send(employee.sms_number, body, company=employee.company,
                    party=employee.party,
                    document=cls.notification_document(notification))

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['company.employee']

    @classmethod
    def notification_document(cls, notification):
        "The record the notification is about, when a message can be"
        records = json.loads(notification.records or '[]')
        if (notification.model in cls._get_documents()
                and len(records) == 1):
            return f'{notification.model},{records[0]}'

    @classmethod
    def notification_hint(cls, notification):
        """What the employee may answer by text to the notification, in the
        language of the context: modules whose records can be decided by
        text add it"""
        return ''
