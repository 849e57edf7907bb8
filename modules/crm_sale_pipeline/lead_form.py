# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Web forms that post leads to the public route of routes.py: only a known
form's secret token is accepted, from its allowed origins, within its rate
limits, and a filled honeypot field is taken for a robot."""
import datetime as dt
import secrets
from http import HTTPStatus

from sql import Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Case

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .lead_intake import LEAD_FIELDS, LeadError, check_lengths

# The field a person never sees nor fills: robots do
HONEYPOT = 'website'
# The fields a web form posts, and the lead field each fills
WEB_FIELDS = {
    'name': 'name',
    'organisation': 'organisation',
    'phone': 'phone',
    'email': 'email',
    'message': 'comment',
    'industry': 'industry',
    'size': 'size',
    'region': 'region',
    }
RATE_WINDOW = dt.timedelta(hours=1)


def new_token():
    return secrets.token_urlsafe(24)


class LeadForm(DeactivableMixin, ModelSQL, ModelView):
    "A web form that posts leads"
    __name__ = 'crm.sale.lead.form'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True)
    token = fields.Char(
        "Token", readonly=True, strip=False,
        help="The secret part of the address the form posts to.")
    url = fields.Function(fields.Char(
            "Address",
            help="Where the web page posts the form, after the server's "
            "address."), 'get_url')
    source = fields.Many2One(
        'crm.source', "Source", required=True, ondelete='RESTRICT',
        help="The source of the leads the form posts.")
    allowed_origins = fields.Text(
        "Allowed Origins",
        help="The web sites (scheme://host[:port]) whose pages may post "
        "the form, one per line; empty allows any.\n"
        "The server's [web] cors setting must list them too.")
    ip_limit = fields.Integer(
        "Posts per Address per Hour", required=True,
        domain=[('ip_limit', '>', 0)],
        help="The most posts one network address may make in an hour.")
    hourly_limit = fields.Integer(
        "Posts per Hour", required=True,
        domain=[('hourly_limit', '>=', Eval('ip_limit', 0))],
        help="The most posts the form takes in an hour.")
    submissions = fields.One2Many(
        'crm.sale.lead.submission', 'form', "Posts", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('token_unique', Unique(t, t.token),
                'crm_sale_pipeline.msg_lead_form_token_unique'),
            ]
        cls._buttons.update({
                'renew_token': {
                    'icon': 'tryton-refresh',
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_ip_limit(cls):
        return 5

    @classmethod
    def default_hourly_limit(cls):
        return 200

    def get_url(self, name):
        if self.token:
            return (f'/{Transaction().database.name}'
                f'/crm_sale_pipeline/lead/{self.token}')

    @classmethod
    def create(cls, vlist):
        # Each its own secret, never one given
        vlist = [{**v, 'token': new_token()} for v in vlist]
        return super().create(vlist)

    @classmethod
    def copy(cls, forms, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('submissions')
        return super().copy(forms, default=default)

    @classmethod
    @ModelView.button
    def renew_token(cls, forms):
        "Give the forms a new address: the old one stops working"
        for form in forms:
            form.token = new_token()
        cls.save(forms)

    def origin_allowed(self, origin):
        "Tell if a page of the origin, None when unknown, may post the form"
        origins = (self.allowed_origins or '').split()
        return not origin or not origins or origin.rstrip('/') in [
            o.rstrip('/') for o in origins]

    def rate_limited(self, address):
        """Tell if the address or the form used up its posts of the last
        hour"""
        pool = Pool()
        Submission = pool.get('crm.sale.lead.submission')
        table = Submission.__table__()
        cursor = Transaction().connection.cursor()
        # As trytond stores the creation dates: naive UTC
        since = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            - RATE_WINDOW)
        cursor.execute(*table.select(Count(table.id),
                Sum(Case((table.address == address, Literal(1)),
                        else_=Literal(0))),
                where=(table.form == self.id)
                & (table.create_date >= since)))
        total, from_address = cursor.fetchone()
        return (total >= self.hourly_limit
            or (from_address or 0) >= self.ip_limit)

    @classmethod
    def post(cls, token, values, origin, address):
        """Take in the values a web form posted; return the HTTP status and
        the reply, which names no record but the lead's number"""
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Submission = pool.get('crm.sale.lead.submission')
        forms = cls.search([('token', '=', token)], limit=1)
        if not forms:
            return HTTPStatus.FORBIDDEN, {'error': gettext(
                    'crm_sale_pipeline.msg_lead_form_unknown')}
        form, = forms
        if not form.origin_allowed(origin):
            return HTTPStatus.FORBIDDEN, {'error': gettext(
                    'crm_sale_pipeline.msg_lead_form_origin')}
        # Refused posts are not recorded: a flood writes nothing
        if form.rate_limited(address):
            return HTTPStatus.TOO_MANY_REQUESTS, {'error': gettext(
                    'crm_sale_pipeline.msg_lead_form_rate_limited')}
        submission = Submission(form=form, address=address)
        if values is not None and values.get(HONEYPOT):
            submission.result = 'spam'
            submission.save()
            # A robot learns nothing from the reply
            return HTTPStatus.OK, {'status': 'received'}
        try:
            lead = form.lead(values)
            opportunity, = Opportunity.capture_leads(
                form.company, [lead], intake='web')
        except LeadError as error:
            submission.result = 'invalid'
            submission.error = error.message[:Submission.error.size]
            submission.save()
            return HTTPStatus.BAD_REQUEST, {'error': error.message}
        submission.opportunity = opportunity
        submission.result = 'duplicate' if opportunity.duplicate_of else 'new'
        submission.save()
        # A duplicate gets the same reply: the form tells no one who is known
        return HTTPStatus.CREATED, {
            'status': 'created', 'reference': opportunity.number}

    def lead(self, values):
        "Return the lead of the posted values or raise LeadError"
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        if values is None:
            raise LeadError(gettext('crm_sale_pipeline.msg_lead_form_body'))
        # The limits are told with the names the web page uses
        check_lengths(values, {
                n: LEAD_FIELDS[f] for n, f in WEB_FIELDS.items()})
        texts = {}
        for name, value in values.items():
            if name == HONEYPOT:
                continue
            if name not in WEB_FIELDS:
                raise LeadError(gettext(
                        'crm_sale_pipeline.msg_lead_field_unknown',
                        field=name))
            texts[WEB_FIELDS[name]] = value
        lead = Opportunity.lead_from_text(texts)
        lead['source'] = self.source
        lead['description'] = gettext(
            'crm_sale_pipeline.msg_lead_web_description', form=self.name)
        return lead


class LeadSubmission(ModelSQL, ModelView):
    "A post of a lead web form"
    __name__ = 'crm.sale.lead.submission'

    form = fields.Many2One(
        'crm.sale.lead.form', "Form", required=True, readonly=True,
        ondelete='CASCADE')
    address = fields.Char(
        "Network Address", readonly=True,
        help="Where the post came from.")
    result = fields.Selection([
            ('new', "New Lead"),
            ('duplicate', "Duplicate Lead"),
            ('invalid', "Invalid"),
            ('spam', "Spam"),
            ], "Result", required=True, readonly=True)
    error = fields.Char("Error", size=500, readonly=True)
    opportunity = fields.Many2One(
        'sale.opportunity', "Lead", readonly=True, ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # What the rate limit counts
        cls._sql_indexes.add(
            Index(t, (t.form, Index.Range()), (t.create_date, Index.Range())))
        cls._order.insert(0, ('create_date', 'DESC'))
