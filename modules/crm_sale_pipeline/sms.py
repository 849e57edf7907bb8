# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""With the SMS gateway: price approvals and contract reviews decided by
text from an approver's verified number, and a lead for every sender the
company does not know."""
import json

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.crm_customer.party import normalize_phone
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .common import user_in_group

# What approvers answer, case and width folded by the command parser
APPROVE_WORDS = {'Y', 'YES', 'OK', '1', '同意', '批准', '是'}
REJECT_WORDS = {'N', 'NO', '0', '拒绝', '驳回', '否'}

# The command action that decides the requests of each model
DECISION_ACTIONS = {
    'crm.sale.price_approval': 'price_approval',
    'crm.sale.contract_review': 'contract_review',
    }


class Command(metaclass=PoolMeta):
    __name__ = 'crm.sms.command'

    @classmethod
    def get_actions(cls):
        return super().get_actions() + [
            ('price_approval', "Price Approval"),
            ('contract_review', "Contract Review"),
            ]

    def handle_price_approval(self, requests):
        return self._handle_decisions('crm.sale.price_approval', requests)

    def handle_contract_review(self, requests):
        return self._handle_decisions('crm.sale.contract_review', requests)

    def _handle_decisions(self, model, requests):
        """"<request> Y" approves, "<request> N <reason>" rejects a request
        of the model; only from the verified number of an employee who may
        decide it"""
        pool = Pool()
        Employee = pool.get('company.employee')
        Request = pool.get(model)
        kind = gettext('crm_sale_pipeline.msg_sms_request_'
            + DECISION_ACTIONS[model])
        replies = []
        for message, content in requests:
            employees = Employee.by_verified_number(
                message.company, [message.number])
            employee = employees.get(message.number)
            try:
                if not employee:
                    raise UserError(gettext(
                            'crm_sale_pipeline.msg_sms_approval_unknown_number'
                            ))
                request, approve, comment = self._parse_decision(
                    Request, kind, content)
                self._decide(employee, request, kind, approve, comment)
            except UserError as error:
                message.state = 'rejected'
                message.error_text = error.message[:250]
                replies.append(error.message)
                continue
            message.document = request
            replies.append(gettext(
                    Request._message_prefix
                    + ('approved' if approve else 'rejected'),
                    **request.get_message_values()))
        return replies

    def _parse_decision(self, Request, kind, content):
        words = content.split(maxsplit=2)
        if (len(words) < 2 or not words[0].isdigit()
                or words[1].upper() not in APPROVE_WORDS | REJECT_WORDS):
            raise UserError(gettext(
                    'crm_sale_pipeline.msg_sms_approval_format',
                    keyword=self.keyword_list[0]))
        found = Request.search([('id', '=', int(words[0]))])
        if not found:
            raise UserError(gettext(
                    'crm_sale_pipeline.msg_sms_approval_unknown',
                    kind=kind, request=words[0]))
        return (found[0], words[1].upper() in APPROVE_WORDS,
            words[2] if len(words) > 2 else None)

    @staticmethod
    def _decide(employee, request, kind, approve, comment):
        "Decide as the employee's user would in the client"
        pool = Pool()
        User = pool.get('res.user')
        Request = request.__class__
        users = User.search([('employees', '=', employee.id)], limit=1)
        if (request.company != employee.company or not users
                or request.state != 'requested'):
            raise UserError(gettext(
                    'crm_sale_pipeline.msg_sms_approval_closed',
                    kind=kind, request=request.id))
        user, = users
        with Transaction().set_user(user.id), Transaction().set_context(
                company=employee.company.id, employee=employee.id):
            # Checked before the reason is written: a refused answer
            # changes nothing
            group = request.get_approving_group()
            if not user_in_group(group):
                raise UserError(gettext(
                        Request._message_prefix + 'group',
                        group=group.rec_name,
                        **request.get_message_values()))
            if approve:
                Request.approve([request])
            else:
                if comment:
                    request.comment = comment
                    request.save()
                Request.reject([request])


class Message(metaclass=PoolMeta):
    __name__ = 'crm.sms.message'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + list(DECISION_ACTIONS) + [
            'sale.opportunity']

    @classmethod
    def notification_hint(cls, notification):
        pool = Pool()
        Command = pool.get('crm.sms.command')
        hint = super().notification_hint(notification)
        action = DECISION_ACTIONS.get(notification.model)
        keyword = action and Command.first_keyword(action)
        if keyword and notification.records:
            request = json.loads(notification.records)[0]
            hint = gettext('crm_sale_pipeline.msg_sms_approval_hint',
                keyword=keyword, request=request)
        return hint

    @classmethod
    def create_prospects(cls, company, numbers):
        """Each new prospect is also a lead with the SMS source, taken in
        like the leads of every other path"""
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Source = pool.get('crm.source')
        ModelData = pool.get('ir.model.data')
        prospects = super().create_prospects(company, numbers)
        source = Source(ModelData.get_id('crm_sms_gateway', 'source_sms'))
        # A number the phone library does not know as valid would refuse
        # the lead and stop the processing of every text of the batch: its
        # sender stays a prospect without lead
        Opportunity.capture_leads(company, [{
                    'phone': number,
                    'source': source,
                    'description': gettext(
                        'crm_sale_pipeline.msg_sms_lead_description',
                        number=number),
                    } for number in prospects if normalize_phone(number)],
            intake='sms')
        return prospects
