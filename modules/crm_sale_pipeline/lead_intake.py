# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Leads from every intake path (typed in the client, imported, posted by a
web form, texted) through one API, and the captured leads whose phone
number or e-mail, normalised, is that of a party with an open deal."""
from collections import defaultdict

from sql import Null
from sql.aggregate import Min

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.modules.crm_customer.customer import SIZES
from trytond.modules.crm_customer.duplicate import parties_by_contact
from trytond.modules.crm_customer.importing import (
    RowError, parse_email, parse_phone, parse_selection)
from trytond.modules.crm_customer.party import is_mobile_number
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .common import OPEN_STATES

# The fields of a lead given as text, with the most characters each takes
LEAD_FIELDS = {
    'name': 100,
    'organisation': 200,
    'phone': 40,
    'email': 254,
    'source': 100,
    'description': 200,
    'comment': 4000,
    'industry': 100,
    'size': 20,
    'region': 100,
    }
INTAKES = [
    ('manual', "Typed In"),
    ('web', "Web Form"),
    ('import', "Import"),
    ('sms', "Text Message"),
    ('api', "API"),
    ]


class LeadError(UserError):
    pass


def check_lengths(values, sizes=LEAD_FIELDS):
    "Raise LeadError for the first text longer than sizes allows"
    for name, value in values.items():
        size = sizes.get(name)
        if size and isinstance(value, str) and len(value) > size:
            raise LeadError(gettext('crm_sale_pipeline.msg_lead_too_long',
                    field=name, size=size))


def match_parties(leads, known):
    """Return the party each lead joins: the id of a known party with its
    phone number, else with its e-mail, else -(i + 1) where i is the index
    of the first lead of the batch with that number or e-mail, whose new
    party it shares.
    known maps the normalised numbers and e-mails to party ids."""
    known = dict(known)
    targets = []
    for index, lead in enumerate(leads):
        keys = [lead[k] for k in ['phone', 'email'] if lead.get(k)]
        target = next((known[k] for k in keys if k in known), -(index + 1))
        for key in keys:
            known.setdefault(key, target)
        targets.append(target)
    return targets


class Opportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'

    intake = fields.Selection(
        [(None, "")] + INTAKES, "Intake", readonly=True,
        help="How the lead came in.")
    lead_name = fields.Char(
        "Contact Name", readonly=True,
        help="The name the lead gave, as received.")
    lead_organisation = fields.Char(
        "Organisation", readonly=True,
        help="The organisation the lead gave, as received.")
    lead_phone = fields.Char(
        "Phone", readonly=True,
        help="The phone number the lead gave, as received.")
    lead_email = fields.Char(
        "E-Mail", readonly=True,
        help="The e-mail the lead gave, as received.")
    duplicate_of = fields.Many2One(
        'sale.opportunity', "Duplicate of", readonly=True,
        domain=[('company', '=', Eval('company', -1))],
        states={
            'invisible': ~Eval('duplicate_of'),
            },
        help="The earlier open lead or opportunity of a party with the "
        "phone number or e-mail the lead gave.")
    duplicates = fields.One2Many(
        'sale.opportunity', 'duplicate_of', "Duplicates", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.duplicate_of, Index.Range()),
                where=t.duplicate_of != Null))
        states = {
            'invisible': (~Eval('duplicate_of')
                | ~Eval('state').in_(OPEN_STATES)),
            'depends': ['duplicate_of', 'state'],
            }
        cls.__rpc__.update({
                'capture_leads': RPC(
                    readonly=False, result=lambda r: list(map(int, r))),
                })
        cls._buttons.update({
                'merge_duplicate': {**states, 'icon': 'tryton-link'},
                'dismiss_duplicate': {**states, 'icon': 'tryton-clear'},
                })

    @classmethod
    def default_intake(cls):
        return 'manual'

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('duplicate_of')
        default.setdefault('duplicates')
        return super().copy(opportunities, default=default)

    @classmethod
    def open_originals(cls, company, party_ids):
        """Return {party id: id of its oldest lead or opportunity still open
        in the company that is not itself a duplicate}, in SQL"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice(
                sorted(party_ids), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.party, Min(table.id),
                    where=table.party.in_(list(sub_ids))
                    & (table.company == company.id)
                    & table.state.in_(OPEN_STATES)
                    & (table.duplicate_of == Null),
                    group_by=[table.party]))
            result.update(cursor)
        return result

    @classmethod
    def flag(cls, duplicates):
        "Flag the duplicates given by the id of their original"
        if duplicates:
            cls.write(*sum(([d, {'duplicate_of': o}]
                        for o, d in duplicates.items()), []))

    @classmethod
    @ModelView.button
    def dismiss_duplicate(cls, opportunities):
        "The lead is a deal of its own"
        cls.write(opportunities, {'duplicate_of': None})

    @classmethod
    @ModelView.button
    def merge_duplicate(cls, opportunities):
        """Add what the duplicates say to the comment of their original and
        cancel them"""
        by_original = defaultdict(list)
        for opportunity in opportunities:
            original = opportunity.duplicate_of
            if not original or opportunity.state not in OPEN_STATES:
                raise LeadError(gettext(
                        'crm_sale_pipeline.msg_lead_merge_not_duplicate',
                        lead=opportunity.rec_name))
            if original.state not in OPEN_STATES:
                raise LeadError(gettext(
                        'crm_sale_pipeline.msg_lead_merge_closed',
                        lead=opportunity.rec_name,
                        original=original.rec_name))
            by_original[original].append(opportunity)
        to_write = []
        for original, duplicates in by_original.items():
            parts = [original.comment] if original.comment else []
            parts.extend(d.merged_text() for d in duplicates)
            to_write.extend([[original], {'comment': '\n\n'.join(parts)}])
        if to_write:
            cls.write(*to_write)
            cls.cancel(opportunities)

    def merged_text(self):
        "The text that tells the original what the duplicate said"
        lines = [gettext('crm_sale_pipeline.msg_lead_merged',
                lead=self.rec_name, date=self.start_date.isoformat())]
        names = ['lead_name', 'lead_organisation', 'lead_phone',
            'lead_email', 'description', 'comment']
        labels = self.fields_get(names)
        for name in names:
            if value := getattr(self, name):
                lines.append(f"{labels[name]['string']}: {value}")
        return '\n'.join(lines)

    @classmethod
    def lead_from_text(cls, values):
        """Return the lead of the values written as text (an import's row,
        a web form's fields): industry, region and source by their name;
        raise LeadError for an unknown field or name"""
        pool = Pool()
        Industry = pool.get('crm.industry')
        Source = pool.get('crm.source')
        Subdivision = pool.get('country.subdivision')
        Configuration = pool.get('crm.configuration')
        for name in values:
            if name not in LEAD_FIELDS:
                raise LeadError(gettext(
                        'crm_sale_pipeline.msg_lead_field_unknown',
                        field=name))
        check_lengths(values)
        lead = {k: v.strip() for k, v in values.items() if v.strip()}
        for name, Model in [('industry', Industry), ('source', Source)]:
            if name in lead:
                records = Model.search([('name', '=', lead[name])], limit=1)
                if not records:
                    raise LeadError(gettext(
                            f'crm_sale_pipeline.msg_lead_{name}_unknown',
                            value=lead[name]))
                lead[name] = records[0]
        if 'region' in lead:
            regions = Subdivision.search(['OR',
                    ('code', '=', lead['region']),
                    ('name', '=', lead['region']),
                    ])
            country = Configuration(1).phone_country
            if len(regions) > 1 and country:
                regions = [r for r in regions if r.country == country]
            if len(regions) != 1:
                raise LeadError(gettext(
                        'crm_sale_pipeline.msg_lead_region_unknown',
                        value=lead['region']))
            lead['region'], = regions
        if 'size' in lead:
            try:
                parse_selection(lead['size'], [k for k, _ in SIZES if k])
            except RowError as error:
                raise LeadError(gettext(
                        f'crm_customer.{error.message}', **error.variables))
        return lead

    @classmethod
    def check_lead(cls, lead):
        """Return the lead with its phone number in E.164 form and its
        e-mail in lower case as keys 'phone_key' and 'email_key'; raise
        LeadError when it cannot be taken in"""
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        check_lengths(lead)
        if not lead.get('phone') and not lead.get('email'):
            raise LeadError(gettext('crm_sale_pipeline.msg_lead_reach'))
        checked = dict(lead)
        try:
            if lead.get('phone'):
                checked['phone_key'] = parse_phone(
                    lead['phone'], Configuration.phone_country_code())
            if lead.get('email'):
                checked['email_key'] = parse_email(lead['email']).lower()
        except RowError as error:
            raise LeadError(gettext(
                    f'crm_customer.{error.message}', **error.variables))
        return checked

    @classmethod
    def plan_leads(cls, company, leads):
        """Return for each checked lead the party it joins (an id, or
        -(i + 1) for the new party of lead i) and the open deal it repeats:
        the id of the oldest open deal of a party with the lead's phone
        number or e-mail, or -(i + 1) when it repeats lead i of the batch
        (an earlier lead that joins the same party), or None"""
        found = parties_by_contact(
            [l['phone_key'] for l in leads if 'phone_key' in l],
            [l['email_key'] for l in leads if 'email_key' in l])
        targets = match_parties([{
                    'phone': l.get('phone_key'),
                    'email': l.get('email_key'),
                    } for l in leads],
            {value: min(ids) for value, ids in found.items()})
        originals = cls.open_originals(company, set().union(*found.values()))
        first = {}
        plan = []
        for index, (lead, target) in enumerate(zip(leads, targets)):
            deals = [originals[p]
                for key in ['phone_key', 'email_key'] if key in lead
                for p in found.get(lead[key], ()) if p in originals]
            original = min(deals) if deals else first.get(target)
            first.setdefault(
                target, original if original is not None else -(index + 1))
            plan.append((target, original))
        return plan

    @classmethod
    def capture_leads(cls, company, leads, intake='api'):
        """Take the leads in: each a dict of name, organisation, phone,
        email, source, description, comment, industry, size and region
        (records or ids for the last ones but size); a lead joins the party
        with its phone number or e-mail, or a new prospect, and is flagged
        when a party with its number or e-mail has an open deal. No one's
        lead, it is scored and given by the assignment rules.
        Return the opportunities, in the order of the leads; nothing is
        written when a lead raises LeadError."""
        pool = Pool()
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        # Scripts call it through RPC with the company's id
        company = Company(int(company))
        checked = [cls.check_lead(lead) for lead in leads]
        plan = cls.plan_leads(company, checked)
        targets = [t for t, _ in plan]
        new = {t: cls._prospect_values(checked[-t - 1])
            for t in targets if t < 0}
        # Nobody is asked: the duplicate warnings of parties and customers
        # are for the people who type them in
        with Transaction().set_context(
                company=company.id, _skip_warnings=True):
            created = dict(zip(new, Party.create(list(new.values()))))
            party_ids = [created[t].id if t < 0 else t for t in targets]
            cls._create_customers(company, checked, party_ids)
            opportunities = cls.create([{
                        'company': company.id,
                        'currency': company.currency.id,
                        'party': party_id,
                        'employee': None,
                        'intake': intake,
                        'source': _id(lead.get('source')),
                        'description': lead.get('description'),
                        'comment': lead.get('comment'),
                        'lead_name': lead.get('name'),
                        'lead_organisation': lead.get('organisation'),
                        'lead_phone': lead.get('phone'),
                        'lead_email': lead.get('email'),
                        } for lead, party_id in zip(checked, party_ids)])
        duplicates = defaultdict(list)
        for opportunity, (_, original) in zip(opportunities, plan):
            if original is not None:
                if original < 0:
                    original = opportunities[-original - 1].id
                duplicates[original].append(opportunity)
        cls.flag(duplicates)
        return opportunities

    @classmethod
    def _create_customers(cls, company, leads, party_ids):
        """Create the CRM customer in the company of each party that has
        none, from the first of its leads"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()
        # In SQL: the record rules of the user must not hide a customer
        with_customer = set()
        for sub_ids in grouped_slice(
                sorted(set(party_ids)), backend.MAX_QUERY_PARAMS):
            cursor.execute(*customer.select(customer.party,
                    where=customer.party.in_(list(sub_ids))
                    & (customer.company == company.id)))
            with_customer.update(p for p, in cursor)
        customers = {}
        for lead, party_id in zip(leads, party_ids):
            if party_id not in with_customer:
                customers.setdefault(party_id, {
                        'party': party_id,
                        'company': company.id,
                        'customer_type': ('enterprise'
                            if lead.get('organisation') else 'individual'),
                        'source': _id(lead.get('source')),
                        'industry': _id(lead.get('industry')),
                        'size': lead.get('size'),
                        })
        Customer.create(list(customers.values()))

    @classmethod
    def _prospect_values(cls, lead):
        "The values of the party of a lead no one matches"
        pool = Pool()
        Subdivision = pool.get('country.subdivision')
        # A contact of an organisation names the numbers that reach them
        contact = lead.get('name') if lead.get('organisation') else None
        mechanisms = []
        if phone := lead.get('phone_key'):
            mechanisms.append({
                    'type': 'mobile' if is_mobile_number(phone) else 'phone',
                    'value': phone, 'name': contact})
        if email := lead.get('email_key'):
            mechanisms.append({'type': 'email', 'value': email,
                    'name': contact})
        values = {
            'name': (lead.get('organisation') or lead.get('name')
                or lead.get('phone_key') or lead.get('email_key')),
            'contact_mechanisms': [('create', mechanisms)],
            }
        if lead.get('region'):
            region = Subdivision(_id(lead['region']))
            values['addresses'] = [('create', [{
                            'subdivision': region.id,
                            'country': region.country.id,
                            }])]
        return values


def _id(value):
    "The id of a record or of an id, None as it is"
    return int(value) if value is not None else None


class PartyErase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        names = ['lead_name', 'lead_organisation', 'lead_phone', 'lead_email']
        return super().to_erase(party_id) + [
            (Opportunity, [('party', '=', party_id)], True,
                names, [None] * len(names)),
            ]
