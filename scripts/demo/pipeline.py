# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""The sales pipeline of the demo company: its stages, loss reasons and
opportunities moved through the stages, won, lost or still open.

The deals are drawn from a seed (``deals``) and written either through
Tryton's workflow (``orm``: buttons, conversion to a sale, the sale
confirmed) and then dated as the plan says, or in bulk with python-sql
(``write_bulk``, for the benchmark's hundreds of thousands)."""
import datetime as dt
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from proteus import Model

from trytond.pool import Pool
from trytond.transaction import Transaction

from . import bulk, plan, setup

# (name, win probability, target days, checks) in pipeline order
STAGES = [
    ("资格审查", 0.1, 7, ["预算已确认", "决策人已确认"]),
    ("需求分析", 0.2, 14, ["需求文档已确认"]),
    ("方案报价", 0.4, 10, []),
    ("招投标", 0.5, 21, ["标书已递交"]),
    ("合同评审", 0.7, 7, ["法务审核通过"]),
    ("商务谈判", 0.8, 10, []),
    ]
# (name, competitor required)
LOSS_REASONS = [
    ("价格过高", False),
    ("预算取消", False),
    ("需求变更", False),
    ("客户无回应", False),
    ("输给竞争对手", True),
    ]
COMPETITORS = ["京华办公设备有限公司", "粤海商贸有限公司"]
# Share of each outcome
OUTCOMES = {'open': 35, 'won': 25, 'lost': 35, 'cancelled': 5}
# A walk of several moves: forward, a skip (a manager's) or back
STEPS = [(1, 65), (2, 10), (-1, 25)]

OPPORTUNITY_COLUMNS = ['number', 'company', 'currency', 'party', 'employee',
    'amount', 'start_date', 'end_date', 'state', 'conversion_probability',
    'description', 'stage', 'stage_date', 'source', 'loss_reason',
    'lost_to_competitor']
HISTORY_COLUMNS = ['opportunity', 'company', 'from_stage', 'to_stage',
    'user', 'employee', 'datetime', 'date', 'duration']


@dataclass
class Deal:
    customer: int
    employee: int
    source: int
    product: int
    quantity: int
    amount: Decimal
    # [(stage index, local datetime)], the first is the creation
    moves: list
    # lead, opportunity or converted when open; won, lost or cancelled
    state: str
    end_date: dt.date | None
    reason: int | None = None
    competitor: int | None = None

    @property
    def stage(self):
        return self.moves[-1][0]

    @property
    def start_date(self):
        return self.moves[0][1].date()

    @property
    def stage_date(self):
        return self.moves[-1][1].date()


def deals(seed, count, customers, employees, today, moves=None, days=365):
    """Yield count deals of the plan's customers and employees (counts)
    started within days before today.  Without moves, a deal only goes
    forward, and the open deals spread over every stage; with moves, each
    deal has that many stage changes (its creation included), a walk that
    may skip a stage or go back."""
    rng = random.Random(f'pipeline-{seed}')
    prices = [p for _, _, p, _ in plan.products()]
    last = len(STAGES) - 1
    outcomes = list(OUTCOMES)
    weights = list(OUTCOMES.values())
    open_count = 0
    for _ in range(count):
        state = rng.choices(outcomes, weights)[0]
        if moves is None:
            if state == 'open':
                final = open_count % len(STAGES)
                open_count += 1
            elif state == 'won':
                final = last
            else:
                final = rng.randint(0, last)
            stages = list(range(final + 1))
        else:
            stages = [0]
            for _ in range(moves - 1):
                step = rng.choices(
                    [s for s, _ in STEPS], [w for _, w in STEPS])[0]
                position = stages[-1] + step
                if not 0 <= position <= last:
                    position = stages[-1] - 1 if stages[-1] else 1
                stages.append(position)
        if state == 'open':
            final = stages[-1]
            state = ('lead' if final == 0 and rng.random() < 0.5
                else 'converted' if final == last else 'opportunity')
        # Days spent in each stage left, then until the deal closed
        gaps = [rng.randint(1, 2 * STAGES[s][2]) for s in stages[:-1]]
        closing = rng.randint(1, 15)
        span = sum(gaps) + closing
        if state in OUTCOMES:
            start = today - dt.timedelta(
                days=rng.randint(span, max(span, days)))
        else:
            start = today - dt.timedelta(days=span)
        when = dt.datetime.combine(start, dt.time(9)) + dt.timedelta(
            minutes=rng.randrange(9 * 60))
        path = [(stages[0], when)]
        for stage, gap in zip(stages[1:], gaps):
            when += dt.timedelta(days=gap, minutes=rng.randrange(-60, 60))
            path.append((stage, when))
        if state in OUTCOMES:
            end_date = path[-1][1].date() + dt.timedelta(days=closing)
        elif rng.random() < 0.5:
            end_date = today + dt.timedelta(days=rng.randint(0, 120))
        else:
            end_date = None
        customer = rng.randrange(len(customers))
        product = rng.randrange(len(prices))
        quantity = rng.randint(1, 20)
        reason = competitor = None
        if state == 'lost':
            reason = rng.randrange(len(LOSS_REASONS))
            if LOSS_REASONS[reason][1]:
                competitor = rng.randrange(len(COMPETITORS))
        yield Deal(
            customer=customer,
            employee=(customers[customer].owner if rng.random() < 0.7
                else rng.randrange(employees)),
            source=(customers[customer].source if rng.random() < 0.8
                else rng.randrange(len(plan.SOURCES))),
            product=product, quantity=quantity,
            amount=prices[product] * quantity,
            moves=path, state=state, end_date=end_date,
            reason=reason, competitor=competitor)


def configure(config, company):
    """Return the stages, loss reasons and competitors of the company,
    created when it has none"""
    Stage = Model.get('crm.sale.stage', config=config)
    Reason = Model.get('crm.sale.loss_reason', config=config)
    stages = Stage.find([('company', '=', company.id)])
    if not stages:
        for name, probability, days, checks in STAGES:
            stage = Stage(name=name, probability=probability,
                target_days=days)
            for check in checks:
                stage.checks.new(name=check)
            stages.append(stage)
        Stage.save(stages)
    reasons = Reason.find([('company', '=', company.id)])
    if not reasons:
        reasons = [Reason(name=n, competitor_required=c)
            for n, c in LOSS_REASONS]
        Reason.save(reasons)
    Configuration = Model.get('crm.configuration', config=config)
    configuration = Configuration(1)
    configuration.loss_reason_required = True
    configuration.save()
    competitors = setup.find_or_create(config, 'party.party', COMPETITORS)
    return stages, reasons, competitors


def record_ids(config, company, customers, stages, reasons, competitors):
    "The record ids the deals refer to by index"
    Employee = Model.get('company.employee', config=config)
    return {
        'parties': [p.id for p in customers],
        'employees': [e.id for e in Employee.find(
                [('company', '=', company.id)], order=[('id', 'ASC')])],
        'sources': [s.id for s in setup.find_or_create(
                config, 'crm.source', plan.SOURCES)],
        'stages': [s.id for s in stages],
        'reasons': [r.id for r in reasons],
        'competitors': [c.id for c in competitors],
        }


def generate(config, company, seed, today, count, log=print):
    "Set up the pipeline of the demo company and its deals through the ORM"
    start = time.monotonic()
    stages, reasons, competitors = configure(config, company.record)
    ids = record_ids(config, company.record, company.parties, stages,
        reasons, competitors)
    planned = list(deals(seed, count, company.customers,
            len(ids['employees']), today))
    orm(config, company, planned, ids)
    log(f"pipeline (ORM): {len(planned)} opportunities, "
        f"{sum(len(d.moves) for d in planned)} stage changes in "
        f"{time.monotonic() - start:.1f} s")


def orm(config, company, planned, ids):
    """Enter the deals with Tryton's buttons, a stage at a time, then date
    them as planned"""
    Opportunity = Model.get('sale.opportunity', config=config)
    Sale = Model.get('sale.sale', config=config)
    context = config.context
    units = {p.id: p.sale_uom.id for p in company.products}
    # The planned deals of a repeat customer are no duplicate leads to warn of
    records = Opportunity._proxy.create([{
                'party': ids['parties'][d.customer],
                'employee': ids['employees'][d.employee],
                'source': ids['sources'][d.source],
                'description': company.products[d.product].rec_name,
                'amount': d.amount,
                'conversion_probability': STAGES[0][1],
                'lines': [('create', [{
                                'product': company.products[d.product].id,
                                'quantity': d.quantity,
                                'unit': units[company.products[d.product].id],
                                }])],
                } for d in planned], {**context, '_skip_warnings': True})
    by_deal = list(zip(planned, records))
    Opportunity._proxy.opportunity(
        [r for d, r in by_deal if d.state != 'lead'], context)
    Check = Model.get('crm.sale.stage.check', config=config)
    for step in range(1, len(STAGES)):
        moving = [r for d, r in by_deal if d.stage >= step]
        if not moving:
            break
        checks = [c.id for c in Check.find(
                [('stage', '=', ids['stages'][step - 1])])]
        if checks:
            Opportunity._proxy.write(
                moving, {'stage_checks': [('add', checks)]}, context)
        Opportunity._proxy.next_stage(moving, context)

    selling = [r for d, r in by_deal if d.state in {'won', 'converted'}]
    if selling:
        Opportunity._proxy.convert(selling, context)
        sales = Sale.find(
            [('origin', 'in', [f'sale.opportunity,{r}' for r in selling])])
        Sale._proxy.write([s.id for s in sales], {
                'invoice_method': 'manual',
                'shipment_method': 'manual',
                }, context)
        Sale.click(sales, 'quote')
        won = {r for d, r in by_deal if d.state == 'won'}
        Sale.click([s for s in sales if s.origin.id in won], 'confirm')
    for deal, record in by_deal:
        if deal.state == 'lost':
            Opportunity._proxy.write([record], {
                    'loss_reason': ids['reasons'][deal.reason],
                    'lost_to_competitor': (
                        ids['competitors'][deal.competitor]
                        if deal.competitor is not None else None),
                    }, context)
    for state, button in [('lost', 'lost'), ('cancelled', 'cancel')]:
        closing = [r for d, r in by_deal if d.state == state]
        if closing:
            getattr(Opportunity._proxy, button)(closing, context)
    zone = ZoneInfo(company.record.timezone or 'UTC')
    bulk._in_transaction(config, lambda: _date(by_deal, zone))


def _utc(when, zone):
    "Return the naive UTC datetime of the local one"
    return when.replace(tzinfo=zone).astimezone(
        dt.timezone.utc).replace(tzinfo=None)


def _date(by_deal, zone):
    "Date the opportunities, their stage history and sales as planned"
    pool = Pool()
    Opportunity = pool.get('sale.opportunity')
    History = pool.get('crm.sale.stage.history')
    Sale = pool.get('sale.sale')
    opportunity = Opportunity.__table__()
    history = History.__table__()
    sale = Sale.__table__()
    cursor = Transaction().connection.cursor()
    for deal, record in by_deal:
        cursor.execute(*opportunity.update(
                [opportunity.start_date, opportunity.end_date,
                    opportunity.stage_date],
                [deal.start_date, deal.end_date, deal.stage_date],
                where=opportunity.id == record))
        cursor.execute(*history.select(history.id,
                where=history.opportunity == record,
                order_by=[history.id.asc]))
        previous = None
        for (history_id,), (_, when) in zip(cursor.fetchall(), deal.moves):
            cursor.execute(*history.update(
                    [history.datetime, history.date, history.duration],
                    [_utc(when, zone), when.date(),
                        when - previous if previous else None],
                    where=history.id == history_id))
            previous = when
        if deal.end_date:
            cursor.execute(*sale.update(
                    [sale.sale_date, sale.quotation_date],
                    [deal.end_date, deal.end_date],
                    where=sale.origin == f'sale.opportunity,{record}'))


def write_bulk(config, company_id, planned, ids):
    """Write the deals and their stage history with python-sql; return the
    number of opportunities and of stage changes written"""
    return bulk._in_transaction(config,
        lambda: _write_bulk(company_id, planned, ids))


def _write_bulk(company_id, planned, ids):
    pool = Pool()
    Company = pool.get('company.company')
    Configuration = pool.get('sale.configuration')
    company = Company(company_id)
    zone = ZoneInfo(company.timezone or 'UTC')
    user = Transaction().user
    cursor = Transaction().connection.cursor()
    tables = {
        'sale_opportunity': bulk.Rows('sale_opportunity',
            OPPORTUNITY_COLUMNS),
        'crm_sale_stage_history': bulk.Rows('crm_sale_stage_history',
            HISTORY_COLUMNS),
        }
    planned = list(planned)
    tables['sale_opportunity'].reserve(cursor, len(planned))
    tables['crm_sale_stage_history'].reserve(
        cursor, sum(len(d.moves) for d in planned))
    numbers = Configuration(1).get_multivalue(
        'sale_opportunity_sequence', company=company_id).get_many(
        len(planned))
    stages = ids['stages']
    probabilities = [p for _, p, _, _ in STAGES]
    products = [n for _, n, _, _ in plan.products()]
    opportunities = histories = 0
    for deal, number in zip(planned, numbers):
        employee = ids['employees'][deal.employee]
        record = tables['sale_opportunity'].add(
            number=number, company=company_id, currency=company.currency.id,
            party=ids['parties'][deal.customer], employee=employee,
            amount=deal.amount, start_date=deal.start_date,
            end_date=deal.end_date, state=deal.state,
            conversion_probability=probabilities[deal.stage],
            description=products[deal.product],
            stage=stages[deal.stage], stage_date=deal.stage_date,
            source=ids['sources'][deal.source],
            loss_reason=(ids['reasons'][deal.reason]
                if deal.reason is not None else None),
            lost_to_competitor=(ids['competitors'][deal.competitor]
                if deal.competitor is not None else None))
        previous = None
        for stage, when in deal.moves:
            tables['crm_sale_stage_history'].add(
                opportunity=record, company=company_id,
                from_stage=stages[previous[0]] if previous else None,
                to_stage=stages[stage], user=user, employee=employee,
                datetime=_utc(when, zone), date=when.date(),
                duration=when - previous[1] if previous else None)
            previous = stage, when
        opportunities += 1
        histories += len(deal.moves)
        if len(tables['crm_sale_stage_history'].rows) >= bulk.FLUSH:
            bulk.flush(tables, cursor)
    bulk.flush(tables, cursor)
    return opportunities, histories


def active(config):
    "Tell if the database has the pipeline module activated"
    Module = Model.get('ir.module', config=config)
    return bool(Module.find([
                ('name', '=', 'crm_sale_pipeline'),
                ('state', '=', 'activated'),
                ]))

