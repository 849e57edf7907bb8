# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Templates in the customer's language, and marketing campaigns."""
import datetime
import re
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields)
from trytond.modules.crm_customer.activity import company_zone
from trytond.modules.crm_customer.customer import LIFECYCLE_STAGES
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONDecoder
from trytond.transaction import Transaction

from . import pdu
from .exceptions import SMSValidationError
from .message import utc_now

_PLACEHOLDER = re.compile(r'\{(\w*)\}')
# What every template may use; callers add their own values
PLACEHOLDERS = {'name', 'company'}


def render(text, values):
    """Replace each {placeholder} of text by its value

    Only names are replaced: nothing in the text or the values is evaluated.
    """
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), '')), text)


def in_quiet_hours(company, moment=None):
    "Whether moment (naive UTC, now by default) is in company's quiet hours"
    Configuration = Pool().get('crm.configuration')
    configuration = Configuration(1)
    start, end = configuration.sms_quiet_start, configuration.sms_quiet_end
    if start is None or end is None or start == end:
        return False
    moment = (moment or utc_now()).replace(tzinfo=datetime.timezone.utc)
    local = moment.astimezone(company_zone(company)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


class Template(DeactivableMixin, ModelSQL, ModelView):
    "SMS Template"
    __name__ = 'crm.sms.template'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    body = fields.Text(
        "Body", required=True, translate=True,
        help="The text, translated in each language. {name} is the "
        "customer's name and {company} the company's; other modules add "
        "their own placeholders.")
    kind = fields.Selection([
            ('transactional', "Transactional"),
            ('marketing', "Marketing"),
            ], "Kind", required=True,
        help="Marketing texts carry the signature and the opt-out hint, "
        "and go only to numbers that did not opt out.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'marketing'

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if 'body' in field_names:
            for template in templates:
                template.check_placeholders()

    @classmethod
    def placeholders(cls):
        "The names templates may use: modules add those they fill"
        return set(PLACEHOLDERS)

    def check_placeholders(self):
        allowed = self.placeholders()
        unknown = set(_PLACEHOLDER.findall(self.body or '')) - allowed
        if unknown:
            raise SMSValidationError(gettext(
                    'crm_sms_gateway.msg_template_placeholder_unknown',
                    template=self.rec_name,
                    placeholders=', '.join(sorted(unknown)),
                    allowed=', '.join(sorted(allowed))))

    def text_for(self, language, values):
        "The text in language with values, signed when it is marketing"
        with Transaction().set_context(language=language):
            template = self.__class__(self.id)
            text = render(template.body, values)
            if self.kind == 'marketing':
                text = self.sign(text, self.company)
        return text

    @classmethod
    def sign(cls, text, company):
        """The marketing text with the company's signature and the hint to
        opt out, in the language of the context"""
        pool = Pool()
        Command = pool.get('crm.sms.command')
        Configuration = pool.get('crm.configuration')
        signature = (Configuration(1).sms_signature
            or company.party.name)
        return gettext('crm_sms_gateway.msg_marketing_text',
            signature=signature, text=text,
            keyword=Command.first_keyword('opt_out'))


class Campaign(Workflow, ModelSQL, ModelView):
    "SMS Campaign"
    __name__ = 'crm.sms.campaign'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    name = fields.Char("Name", required=True, states=_states)
    template = fields.Many2One(
        'crm.sms.template', "Template", required=True, states=_states,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('kind', '=', 'marketing'),
            ])
    tier = fields.Many2One(
        'crm.tier', "Tier", states=_states,
        domain=[('company', '=', Eval('company', -1))])
    lifecycle_stage = fields.Selection(
        [(None, '')] + LIFECYCLE_STAGES, "Lifecycle Stage", states=_states)
    industry = fields.Many2One('crm.industry', "Industry", states=_states)
    team = fields.Many2One(
        'crm.team', "Sales Team", states=_states,
        domain=[('company', '=', Eval('company', -1))])
    vip = fields.Boolean("VIP Only", states=_states)
    domain = fields.Char(
        "Search", states=_states,
        help="More criteria, as a Tryton domain on the customers in PYSON, "
        'for example [["party.addresses.city", "=", "上海"]].')
    scheduled = fields.DateTime(
        "Start", states=_states,
        help="The first text goes at this time; empty for at once.")
    rate = fields.Integer(
        "Texts per Minute", required=True, states=_states,
        domain=[('rate', '>', 0)],
        help="The texts are spread out at this pace.")
    recipients = fields.Function(
        fields.Integer("Recipients",
            help="The mobile numbers of the customers of the segment "
            "that did not opt out."),
        'get_preview')
    excluded = fields.Function(
        fields.Integer("Opted Out",
            help="The numbers of the segment left out because they "
            "opted out."),
        'get_preview')
    parts = fields.Function(
        fields.Integer("Messages",
            help="What the texts cost, in messages."),
        'get_preview')
    cost = fields.Function(
        fields.Numeric("Cost", digits=(16, 2)), 'get_preview')
    messages = fields.One2Many(
        'crm.sms.message', 'campaign', "Texts", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('launched', "Launched"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'launched'),
            ('draft', 'cancelled'),
            ('launched', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'launch': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') == 'cancelled',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_rate(cls):
        return 60

    @classmethod
    def default_vip(cls):
        return False

    @classmethod
    def validate_fields(cls, campaigns, field_names):
        super().validate_fields(campaigns, field_names)
        if 'domain' in field_names:
            for campaign in campaigns:
                campaign.check_domain()

    def check_domain(self):
        "The search must be a domain the customers can be searched with"
        Customer = Pool().get('crm.customer')
        if not self.domain:
            return
        try:
            domain = PYSONDecoder({}).decode(self.domain)
            fields.domain_validate(domain)
            Customer.search(domain, limit=1)
        except Exception as exception:
            raise SMSValidationError(gettext(
                    'crm_sms_gateway.msg_campaign_domain_invalid',
                    campaign=self.rec_name, error=exception)) from exception

    def customer_domain(self):
        "The customers of the segment"
        domain = [('company', '=', self.company.id)]
        if self.domain:
            domain.append(PYSONDecoder({}).decode(self.domain))
        for name in ['tier', 'lifecycle_stage', 'industry', 'team']:
            value = getattr(self, name)
            if value:
                domain.append(
                    (name, '=', value.id if hasattr(value, 'id') else value))
        if self.vip:
            domain.append(('vip', '=', True))
        return domain

    def texts(self):
        """The (number, party, text) of the segment and the numbers left
        out because they opted out"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        Mechanism = pool.get('party.contact_mechanism')
        OptOut = pool.get('crm.sms.opt_out')
        customers = Customer.search(self.customer_domain())
        by_party = {c.party.id: c for c in customers}
        numbers = {}
        for mechanism in Mechanism.search([
                    ('party', 'in', list(by_party)),
                    ('type', '=', 'mobile'),
                    ('value_compact', 'like', '+%'),
                    ], order=[('party', 'ASC'), ('sequence', 'ASC')]):
            # One text per number, even when two customers share it
            numbers.setdefault(mechanism.value_compact, mechanism.party)
        opted_out = OptOut.opted_out_numbers(self.company, numbers)
        company_language = (self.company.party.lang.code
            if self.company.party.lang else None)
        texts = []
        for number, party in numbers.items():
            if number in opted_out:
                continue
            language = party.lang.code if party.lang else company_language
            texts.append((number, party, self.template.text_for(language, {
                            'name': party.name,
                            'company': self.company.party.name,
                            })))
        return texts, len(opted_out)

    @classmethod
    def get_preview(cls, campaigns, names):
        Configuration = Pool().get('crm.configuration')
        price = Configuration(1).sms_part_price or Decimal(0)
        result = {n: defaultdict(lambda: None) for n in names}
        for campaign in campaigns:
            if not campaign.template:
                continue
            texts, excluded = campaign.texts()
            parts = sum(pdu.count_parts(t) for _, _, t in texts)
            values = {
                'recipients': len(texts),
                'excluded': excluded,
                'parts': parts,
                'cost': price * parts,
                }
            for name in names:
                result[name][campaign.id] = values[name]
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('launched')
    def launch(cls, campaigns):
        "Queue the texts of the segment, spread out at the campaign's pace"
        Message = Pool().get('crm.sms.message')
        for campaign in campaigns:
            texts, _ = campaign.texts()
            start = max(campaign.scheduled or utc_now(), utc_now())
            Message.save([Message(company=campaign.company,
                        direction='out', number=number, party=party,
                        body=text, kind='marketing', campaign=campaign,
                        scheduled=start + datetime.timedelta(
                            minutes=i / campaign.rate))
                    for i, (number, party, text) in enumerate(texts)])

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, campaigns):
        "Stop the texts not sent yet"
        Message = Pool().get('crm.sms.message')
        Message.cancel(Message.search([
                    ('campaign', 'in', [c.id for c in campaigns]),
                    ('state', '=', 'queued'),
                    ]))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, campaigns):
        pass


class Message(metaclass=PoolMeta):
    __name__ = 'crm.sms.message'

    campaign = fields.Many2One(
        'crm.sms.campaign', "Campaign", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.campaign, Index.Range()), where=t.campaign != None))  # noqa

    @classmethod
    def copy(cls, messages, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('campaign', None)
        return super().copy(messages, default=default)

    @classmethod
    def send_template(cls, template, number, *, language=None, values=None,
            **kwargs):
        """Queue template's text to number in language (the party's, the
        company's by default), with values for its placeholders"""
        party = kwargs.get('party')
        if language is None:
            lang = (party.lang if party and party.lang
                else template.company.party.lang)
            language = lang.code if lang else None
        values = {
            'name': party.name if party else '',
            'company': template.company.party.name,
            **(values or {})}
        return cls.send(number, template.text_for(language, values),
            company=template.company, kind=template.kind, **kwargs)
