# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""With the SMS gateway: price approvals decided by text from an approver's
verified number, and a lead for every sender the company does not know."""
import json

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .common import user_in_group

# What approvers answer, case and width folded by the command parser
APPROVE_WORDS = {'Y', 'YES', 'OK', '1', '同意', '批准', '是'}
REJECT_WORDS = {'N', 'NO', '0', '拒绝', '驳回', '否'}


class Command(metaclass=PoolMeta):
    __name__ = 'crm.sms.command'

    @classmethod
    def get_actions(cls):
        return super().get_actions() + [('price_approval', "Price Approval")]

    def handle_price_approval(self, requests):
        """"<request> Y" approves, "<request> N <reason>" rejects; only from
        the verified number of an employee who may decide"""
        pool = Pool()
        Employee = pool.get('company.employee')
        replies = []
        for message, content in requests:
            employees = Employee.by_verified_number(
                message.company, [message.number])
            employee = employees.get(message.number)
            try:
                if not employee:
                    raise UserError(gettext(
                            'crm_sale_pipeline.msg_sms_approval_unknown_number'))
                approval, approve, comment = self._parse_decision(content)
                self._decide(employee, approval, approve, comment)
            except UserError as error:
                message.state = 'rejected'
                message.error_text = error.message[:250]
                replies.append(error.message)
                continue
            message.document = approval
            replies.append(gettext(
                    'crm_sale_pipeline.msg_sms_approval_approved' if approve
                    else 'crm_sale_pipeline.msg_sms_approval_rejected',
                    sale=approval.sale.rec_name))
        return replies

    def _parse_decision(self, content):
        pool = Pool()
        Approval = pool.get('crm.sale.price_approval')
        words = content.split(maxsplit=2)
        if (len(words) < 2 or not words[0].isdigit()
                or words[1].upper() not in APPROVE_WORDS | REJECT_WORDS):
            raise UserError(gettext(
                    'crm_sale_pipeline.msg_sms_approval_format',
                    keyword=self.keyword_list[0]))
        approvals = Approval.search([('id', '=', int(words[0]))])
        if not approvals:
            raise UserError(gettext(
                    'crm_sale_pipeline.msg_sms_approval_unknown',
                    request=words[0]))
        return (approvals[0], words[1].upper() in APPROVE_WORDS,
            words[2] if len(words) > 2 else None)

    @staticmethod
    def _decide(employee, approval, approve, comment):
        "Decide as the employee's user would in the client"
        pool = Pool()
        User = pool.get('res.user')
        Approval = pool.get('crm.sale.price_approval')
        users = User.search([('employees', '=', employee.id)], limit=1)
        if (approval.company != employee.company or not users
                or approval.state != 'requested'):
            raise UserError(gettext(
                    'crm_sale_pipeline.msg_sms_approval_closed',
                    request=approval.id))
        user, = users
        with Transaction().set_user(user.id), Transaction().set_context(
                company=employee.company.id, employee=employee.id):
            if not user_in_group(approval.approving_group):
                raise UserError(gettext(
                        'crm_sale_pipeline.msg_price_approval_group',
                        sale=approval.sale.rec_name,
                        group=approval.approving_group.rec_name))
            if approve:
                Approval.approve([approval])
            else:
                if not comment:
                    raise UserError(gettext(
                            'crm_sale_pipeline.'
                            'msg_price_approval_reject_comment',
                            sale=approval.sale.rec_name))
                approval.comment = comment
                approval.save()
                Approval.reject([approval])


class Message(metaclass=PoolMeta):
    __name__ = 'crm.sms.message'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + [
            'crm.sale.price_approval', 'sale.opportunity']

    @classmethod
    def notification_hint(cls, notification):
        pool = Pool()
        Command = pool.get('crm.sms.command')
        hint = super().notification_hint(notification)
        keyword = Command.first_keyword('price_approval')
        if (notification.model == 'crm.sale.price_approval' and keyword
                and notification.records):
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
        Opportunity.capture_leads(company, [{
                    'phone': number,
                    'source': source,
                    'description': gettext(
                        'crm_sale_pipeline.msg_sms_lead_description',
                        number=number),
                    } for number in prospects], intake='sms')
        return prospects
