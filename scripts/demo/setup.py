# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""The company, its accounting, products, staff and customers, through
proteus as a user would enter them."""
import datetime as dt
from decimal import Decimal

from proteus import Model
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, create_tax, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import create_company
from trytond.modules.currency.tests.tools import get_currency

from . import bulk, plan

BATCH = 1000


class Company:
    "What the history writers need to know of the company built"

    def __init__(self, **values):
        self.__dict__.update(values)


def company_exists(config, name):
    Company = Model.get('company.company', config=config)
    return bool(Company.find([('party.name', '=', name)]))


def country(config):
    "Return China with its subdivisions by code, created when missing"
    Country = Model.get('country.country', config=config)
    Subdivision = Model.get('country.subdivision', config=config)
    countries = Country.find([('code', '=', 'CN')])
    if countries:
        china, = countries
    else:
        china = Country(name="中国", code='CN', code3='CHN')
        china.save()
    subdivisions = {s.code: s for s in Subdivision.find(
            [('country', '=', china.id)])}
    missing = [Subdivision(country=china, code=code, name=name, type=type_)
        for code, name, type_, _ in plan.SUBDIVISIONS
        if code not in subdivisions]
    Subdivision.save(missing)
    subdivisions.update((s.code, s) for s in missing)
    Configuration = Model.get('crm.configuration', config=config)
    configuration = Configuration(1)
    configuration.phone_country = china
    configuration.save()
    return china, subdivisions


def use_company(config, company):
    "Make the company the current one of the user of the configuration"
    User = Model.get('res.user', config=config)
    user = User(config.user)
    if company not in user.companies:
        user.companies.append(company)
    user.company = company
    user.save()
    config._context = User.get_preferences(True, {})


def company(config, name, china, subdivisions):
    Party = Model.get('party.party', config=config)
    Currency = Model.get('currency.currency', config=config)
    currency = get_currency('CNY', config=config)
    if not currency.symbol:
        Currency.write([currency], {'name': "人民币", 'symbol': '¥'},
            config.context)
    party = Party(name=name)
    party.addresses[0].street = "南京西路1266号"
    party.addresses[0].city = "上海"
    party.addresses[0].country = china
    party.addresses[0].subdivision = subdivisions['CN-SH']
    party.save()
    create_company(party, currency, config=config)
    company, = Model.get('company.company', config=config).find(
        [('party', '=', party.id)])
    company.timezone = 'Asia/Shanghai'
    company.save()
    use_company(config, company)
    return company


def accounting(config, company, today):
    "Chart, fiscal years with periods and sequences, tax and payment terms"
    Journal = Model.get('account.journal', config=config)
    PaymentMethod = Model.get('account.invoice.payment.method', config=config)
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    create_chart(company, config=config)
    accounts = get_accounts(company, config=config)
    first = today - dt.timedelta(days=plan.HISTORY_DAYS)
    for year in range(first.year, today.year + 1):
        fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(
                company, (dt.date(year, 1, 1), dt.date(year, 12, 31)),
                config=config), config=config)
        fiscalyear.click('create_period')
    company_sequences(config, company)
    tax = create_tax(plan.TAX_RATE, company=company, config=config)
    tax.name = tax.description = "增值税 13%"
    tax.save()
    terms = {}
    for key in plan.PAYMENT_TERMS:
        days = plan.payment_days(key)
        term = PaymentTerm(name="现金" if not days else f"月结{days}天")
        line = term.lines.new(type='remainder')
        if days:
            line.relativedeltas.new(days=days)
        term.save()
        terms[key] = term
    journal_cash, = Journal.find([('code', '=', 'CASH')])
    payment_method = PaymentMethod(
        name="银行转账", journal=journal_cash, company=company,
        debit_account=accounts['cash'], credit_account=accounts['cash'])
    payment_method.save()
    return accounts, tax, terms, payment_method


def company_sequences(config, company):
    "Give the company its own sale and reconciliation numbers"
    ModelData = Model.get('ir.model.data', config=config)
    Sequence = Model.get('ir.sequence', config=config)
    SequenceType = Model.get('ir.sequence.type', config=config)
    for module, field, type_ in [
            ('sale', 'sale_sequence', 'sequence_type_sale'),
            ('account', 'reconciliation_sequence',
                'sequence_type_account_move_reconciliation')]:
        sequence = Sequence(name=f"{company.rec_name} {field}",
            company=company, sequence_type=SequenceType(
                ModelData.get_id(module, type_, config.context)))
        sequence.save()
        Configuration = Model.get(
            f'{module}.configuration', config=config)
        configuration = Configuration(1)
        setattr(configuration, field, sequence)
        configuration.save()


def products(config, accounts, tax):
    Category = Model.get('product.category', config=config)
    Tax = Model.get('account.tax', config=config)
    Template = Model.get('product.template', config=config)
    Uom = Model.get('product.uom', config=config)
    unit, = Uom.find([('name', '=', "Unit")])
    categories = []
    for name, _ in plan.PRODUCTS:
        category = Category(name=name, accounting=True)
        category.account_revenue = accounts['revenue']
        category.account_expense = accounts['expense']
        category.customer_taxes.append(Tax(tax.id))
        categories.append(category)
    Category.save(categories)
    templates = []
    for category, name, list_price, cost_price in plan.products():
        template = Template(name=name, type='goods', default_uom=unit,
            salable=True, list_price=list_price,
            account_category=categories[category])
        template.categories.append(Category(categories[category].id))
        template.products[0].cost_price = cost_price
        templates.append(template)
    Template.save(templates)
    return [t.products[0] for t in templates]


def staff(config, company, names):
    "Employees and the sales teams they form"
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    Team = Model.get('crm.team', config=config)
    parties = [Party(name=n) for n in names]
    Party.save(parties)
    employees = [Employee(party=p, company=company) for p in parties]
    Employee.save(employees)
    teams = []
    for index, (name, _) in enumerate(plan.TEAMS):
        members = employees[
            index * plan.TEAM_MEMBERS:(index + 1) * plan.TEAM_MEMBERS]
        team = Team(name=name, company=company, manager=members[0])
        team.members.extend(Employee(m.id) for m in members)
        teams.append(team)
    Team.save(teams)
    return employees, teams


def relationship_rules(config, company, terms):
    """The value tiers and their policies, and the alert rules a sales
    manager sets up first"""
    Tier = Model.get('crm.tier', config=config)
    Rule = Model.get('crm.alert.rule', config=config)
    tiers = [Tier(name=n, company=company, cumulative_share=Decimal(s),
            service_level=level, payment_term=terms[term])
        for n, s, level, term in plan.TIERS]
    Tier.save(tiers)
    rules = []
    for name, kind, level, days, values in plan.ALERT_RULES:
        rule = Rule(name=name, company=company, kind=kind, level=level,
            days=days)
        for field, value in values.items():
            setattr(rule, field, tiers[value] if field == 'tier' else value)
        rules.append(rule)
    Rule.save(rules)


def find_or_create(config, model, names):
    Model_ = Model.get(model, config=config)
    existing = {r.name: r for r in Model_.find([('name', 'in', names)])}
    missing = [Model_(name=n) for n in names if n not in existing]
    Model_.save(missing)
    existing.update((r.name, r) for r in missing)
    return [existing[n] for n in names]


def customers(config, company, customers, china, subdivisions, employees,
        teams, terms, use_bulk):
    """Return the parties of the planned customers, with their CRM records.
    They are created in batches with the server's create, as an import
    does (setting each field through proteus would call its on_change), or
    written in bulk."""
    Party = Model.get('party.party', config=config)
    Customer = Model.get('crm.customer', config=config)
    industries = find_or_create(
        config, 'crm.industry', [n for n, _ in plan.INDUSTRIES])
    sources = find_or_create(config, 'crm.source', plan.SOURCES)
    if use_bulk:
        party_ids = bulk.customers(config, company.id, customers, {
                'country': china.id,
                'subdivisions': {k: s.id for k, s in subdivisions.items()},
                'terms': {k: t.id for k, t in terms.items()},
                'industries': {i: r.id for i, r in enumerate(industries)},
                'sources': [r.id for r in sources],
                'employees': [r.id for r in employees],
                'teams': [r.id for r in teams],
                })
        return [Party(i) for i in party_ids]
    parties = []
    for start in range(0, len(customers), BATCH):
        batch = customers[start:start + BATCH]
        party_ids = Party._proxy.create([{
                    'name': c.name,
                    'addresses': [('create', [{
                                    'street': c.street,
                                    'city': c.city,
                                    'country': china.id,
                                    'subdivision':
                                    subdivisions[c.subdivision].id,
                                    }])],
                    'contact_mechanisms': [('create', [
                                {'type': 'mobile', 'value': c.mobile}]
                            + ([{'type': 'email', 'value': c.email}]
                                if c.email else []))],
                    'customer_payment_term': terms[c.payment_term].id,
                    } for c in batch], config.context)
        Customer._proxy.create([{
                    'party': party,
                    'company': company.id,
                    'customer_type': c.customer_type,
                    'industry': (industries[c.industry].id
                        if c.industry is not None else None),
                    'source': sources[c.source].id,
                    'size': c.size,
                    'owner': employees[c.owner].id,
                    'team': teams[c.team].id,
                    'vip': c.vip,
                    'key_account': c.key_account,
                    } for party, c in zip(party_ids, batch)], config.context)
        parties.extend(Party(i) for i in party_ids)
    return parties


def build(config, name, seed, count, today, use_bulk):
    "Create the company and its master data; return it with the plan"
    employee_names, plan_customers, orders = plan.build(seed, count, today)
    china, subdivisions = country(config)
    company_ = company(config, name, china, subdivisions)
    accounts, tax, terms, payment_method = accounting(
        config, company_, today)
    products_ = products(config, accounts, tax)
    employees, teams = staff(config, company_, employee_names)
    relationship_rules(config, company_, terms)
    parties = customers(config, company_, plan_customers, china,
        subdivisions, employees, teams, terms, use_bulk)
    return Company(
        record=company_, accounts=accounts, tax=tax, terms=terms,
        payment_method=payment_method, products=products_, parties=parties,
        customers=plan_customers, orders=orders, today=today), orders
