# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""The history written with python-sql: the rows Tryton's workflow writes
for the same plan (see orm.py), without going through the ORM per record.

Sales are written processed, invoices and credit notes posted with their
moves, payments as posted moves added to the invoice's payment lines, and
the payment completing an invoice reconciled with its receivable line.
Numbers come from Tryton's own sequences, drawn in the order the ORM path
draws them.  Left out: the audit log of buttons and transitions
(ir.model.log) and the invoice report cache, rendered on the first print."""
import datetime as dt
import re
from collections import Counter
from itertools import count

from sql import Table
from sql.aggregate import Max, Min

from trytond import backend
from trytond.modules.crm_customer.party import name_pinyin
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, TransactionError

from .plan import TAX_RATE, payment_days, round_amount

FLUSH = 20000  # rows kept in memory per table before they are written
MAX_PARAMS = 10000  # per query, under SQLite's and PostgreSQL's limits

# The columns written per table, besides id, create_uid and create_date,
# in an order that inserts the targets of foreign keys first
COLUMNS = {
    'account_move': ['company', 'journal', 'period', 'date', 'number',
        'post_date', 'origin', 'state'],
    'account_move_reconciliation': ['company', 'date', 'number'],
    'account_move_line': ['move', 'account', 'party', 'debit', 'credit',
        'maturity_date', 'description', 'origin', 'reconciliation',
        'state'],
    'account_tax_line': ['move_line', 'tax', 'type', 'amount'],
    'sale_sale': ['company', 'currency', 'party', 'invoice_address',
        'shipment_address', 'warehouse', 'payment_term', 'number',
        'sale_date', 'quotation_date', 'invoice_method', 'shipment_method',
        'state', 'invoice_state', 'shipment_state', 'to_invoice', 'to_ship',
        'untaxed_amount_cache', 'tax_amount_cache', 'total_amount_cache'],
    'sale_line': ['sale', 'type', 'product', 'unit', 'quantity',
        'unit_price', 'actual_quantity', 'quantity_to_invoice',
        'quantity_to_ship'],
    'sale_line-account_tax': ['line', 'tax'],
    'account_invoice': ['company', 'type', 'currency', 'journal', 'party',
        'invoice_address', 'account', 'payment_term', 'invoice_date',
        'number', 'number_alnum', 'number_digit', 'sequence',
        'sequence_type_cache', 'state', 'move', 'untaxed_amount_cache',
        'tax_amount_cache', 'total_amount_cache'],
    'account_invoice_line': ['invoice', 'invoice_type', 'company',
        'currency', 'type', 'product', 'unit', 'quantity', 'unit_price',
        'account', 'origin', 'taxes_deductible_rate', 'correction'],
    'account_invoice_line-account_tax': ['line', 'tax'],
    'account_invoice_tax': ['invoice', 'description', 'tax', 'account',
        'base', 'amount', 'manual'],
    'account_invoice-account_move_line': ['invoice', 'line'],
    }


# The tables of the customers' master data, parents first
CUSTOMER_COLUMNS = {
    'party_party': ['active', 'code', 'code_alnum', 'code_digit', 'name',
        'name_pinyin'],
    'party_address': ['active', 'party', 'street_unstructured', 'city',
        'country', 'subdivision'],
    'party_contact_mechanism': ['active', 'party', 'type', 'value',
        'value_compact'],
    'party_party_payment_term': ['party', 'customer_payment_term'],
    'crm_customer': ['active', 'party', 'company', 'customer_type',
        'industry', 'source', 'size', 'owner', 'team', 'vip', 'key_account',
        'lifecycle_stage', 'birthday_calendar'],
    }


class Rows:
    "The rows of one table: ids taken in advance, written in batches"

    def __init__(self, name, columns):
        self.name = name
        self.table = Table(name)
        self.columns = columns
        self.rows = []
        self.ids = None

    def reserve(self, cursor, size):
        "Take the ids of the size rows to come; return the first"
        if backend.name == 'postgresql':
            sequence = f'"{self.name}_id_seq"'
            cursor.execute('SELECT nextval(%s)', (sequence,))
            start, = cursor.fetchone()
            if size > 1:
                cursor.execute(
                    'SELECT setval(%s, %s)', (sequence, start + size - 1))
        else:
            cursor.execute(*self.table.select(Max(self.table.id)))
            start = (cursor.fetchone()[0] or 0) + 1
        self.ids = count(start)
        return start

    def add(self, **values):
        values.setdefault('id', None)
        if values['id'] is None:
            values['id'] = next(self.ids)
        self.rows.append(values)
        return values['id']

    def flush(self, cursor, user, now):
        "Insert the rows: COPY on PostgreSQL, a prepared INSERT elsewhere"
        columns = ['id', 'create_uid', 'create_date'] + self.columns
        rows = ([r['id'], user, now] + [r.get(c) for c in self.columns]
            for r in self.rows)
        if backend.name == 'postgresql':
            names = ', '.join(f'"{c}"' for c in columns)
            with cursor.copy(
                    f'COPY "{self.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            query, _ = tuple(self.table.insert(
                    [getattr(self.table, c) for c in columns],
                    [[None] * len(columns)]))
            cursor.executemany(query, rows)
        self.rows.clear()


def _sizes(orders, completions):
    "The number of rows each table receives"
    lines = sum(len(o.lines) for o in orders)
    credits = sum(1 for o in orders if o.credit)
    payments = sum(len(o.payments) for o in orders)
    invoices = len(orders) + credits
    return {
        'sale_sale': len(orders),
        'sale_line': lines,
        'sale_line-account_tax': lines,
        'account_invoice': invoices,
        'account_invoice_line': lines + credits,
        'account_invoice_line-account_tax': lines + credits,
        'account_invoice_tax': invoices,
        'account_move': invoices + payments,
        'account_move_line': lines + credits + 2 * invoices + 2 * payments,
        'account_tax_line': lines + credits + invoices,
        'account_move_reconciliation': len(completions),
        'account_invoice-account_move_line': payments,
        }


def _completions(events):
    """Return the rank, among reconciliations, of each order whose payments
    complete its invoice"""
    completions = {}
    for kind, _, order, *payment in events:
        if (kind == 'payment'
                and sum(a for _, a in order.payments) == order.total
                and payment[1] == len(order.payments) - 1):
            completions[order.index] = len(completions)
    return completions


class Writer:
    "Turn the events of the plan into rows, the way posting makes them"

    def __init__(self, company, events):
        pool = Pool()
        Date = pool.get('ir.date')
        FiscalYear = pool.get('account.fiscalyear')
        Journal = pool.get('account.journal')
        Period = pool.get('account.period')
        SaleConfiguration = pool.get('sale.configuration')
        AccountConfiguration = pool.get('account.configuration')
        Location = pool.get('stock.location')
        Product = pool.get('product.product')
        Tax = pool.get('account.tax')
        self.company = company
        self.company_id = company_id = company.record.id
        with Transaction().set_context(company=company_id):
            self.today = Date.today()
        self.currency = pool.get('company.company')(company_id).currency.id
        self.fiscalyears = FiscalYear.search(
            [('company', '=', company_id)], order=[('start_date', 'ASC')])
        self.periods = Period.search([
                ('company', '=', company_id),
                ('type', '=', 'standard'),
                ])
        self.journal_revenue = Journal.find({'type': 'revenue'}).id
        payment_method = pool.get('account.invoice.payment.method')(
            company.payment_method.id)
        self.journal_payment = payment_method.journal.id
        self.account_cash = payment_method.debit_account.id
        self.account_receivable = company.accounts['receivable'].id
        self.account_revenue = company.accounts['revenue'].id
        self.tax = Tax(company.tax.id)
        self.sale_sequence = SaleConfiguration(1).get_multivalue(
            'sale_sequence', company=company_id)
        self.reconciliation_sequence = AccountConfiguration(
            1).get_multivalue('reconciliation_sequence', company=company_id)
        self.warehouse, = Location.search(
            [('type', '=', 'warehouse')], limit=1)
        self.units = [p.sale_uom.id
            for p in Product.browse([p.id for p in company.products])]
        self.parties = [p.id for p in company.parties]
        self.addresses = self._addresses(self.parties)
        self.terms = {k: t.id for k, t in company.terms.items()}
        self._sequences_of, self._periods = {}, {}
        self.completions = _completions(events)
        self.numbers = self._numbers(events)
        self.tables = {name: Rows(name, c) for name, c in COLUMNS.items()}

    @staticmethod
    def _addresses(parties):
        "Return the first address of each party"
        address = Pool().get('party.address').__table__()
        cursor = Transaction().connection.cursor()
        first = {}
        for sub_parties in grouped_slice(parties, MAX_PARAMS):
            cursor.execute(*address.select(
                    address.party, Min(address.id),
                    where=address.party.in_(list(sub_parties)),
                    group_by=[address.party]))
            first.update(cursor)
        return [first[p] for p in parties]

    def _sequences(self, date):
        """Return the move, invoice and credit note sequences of the fiscal
        year of the date"""
        if date not in self._sequences_of:
            fiscalyear = next(f for f in self.fiscalyears
                if f.start_date <= date <= f.end_date)
            invoice_sequences, = fiscalyear.invoice_sequences
            self._sequences_of[date] = {
                'move': fiscalyear.move_sequence,
                'invoice': invoice_sequences.out_invoice_sequence,
                'credit': invoice_sequences.out_credit_note_sequence,
                }
        return self._sequences_of[date]

    def _period(self, date):
        if date not in self._periods:
            self._periods[date] = next(p.id for p in self.periods
                if p.start_date <= date <= p.end_date)
        return self._periods[date]

    def _numbers(self, events):
        """Draw the numbers of the sequences in the order the events draw
        them: return an iterator per sequence id and for 'sale', the list
        of the reconciliations' numbers by rank for 'reconciliation'"""
        wanted = Counter()
        sequences = {}
        for kind, date, order, *_ in events:
            used = [self._sequences(date)['move']]
            if kind != 'payment':
                used.append(self._sequences(date)[kind])
            for sequence in used:
                sequences.setdefault(sequence.id, (sequence, date))
                wanted[sequence.id] += 1
            if kind == 'invoice':
                wanted['sale'] += 1
        sequences['sale'] = (self.sale_sequence, self.today)
        sequences['reconciliation'] = (
            self.reconciliation_sequence, self.today)
        wanted['reconciliation'] = len(self.completions)
        # Lock the strict sequences at once: the transaction starts again
        # with their locks before any number is drawn
        strict = [s for s, _ in sequences.values()
            if s.__name__ == 'ir.sequence.strict']
        if strict:
            strict[0].__class__.lock(strict)
        numbers = {}
        for key, size in wanted.items():
            sequence, date = sequences[key]
            with Transaction().set_context(date=date):
                numbers[key] = list(sequence.get_many(size)) if size else []
        return {k: v if k == 'reconciliation' else iter(v)
            for k, v in numbers.items()}

    def _move(self, date, journal, origin):
        return self.tables['account_move'].add(
            company=self.company_id, journal=journal,
            period=self._period(date), date=date,
            number=next(self.numbers[self._sequences(date)['move'].id]),
            post_date=self.today, origin=origin, state='posted')

    def _move_line(self, move, account, amount, **values):
        "Add a line to the move; amount is a debit when positive"
        return self.tables['account_move_line'].add(
            move=move, account=account, state='valid',
            debit=amount if amount > 0 else 0,
            credit=-amount if amount < 0 else 0, **values)

    def _reconciliation(self, order):
        """Write the reconciliation that will pay the order: its lines refer
        to it from the invoice on; return its id"""
        rank = self.completions[order.index]
        return self.tables['account_move_reconciliation'].add(
            id=self.reconciliation_start + rank, company=self.company_id,
            date=order.payments[-1][0],
            number=self.numbers['reconciliation'][rank])

    def _invoice(self, kind, date, order, lines):
        """Post an invoice (or credit note) of the order at the date with
        lines of (product, quantity, unit price, origin); return its id,
        its line ids and its receivable line"""
        t = self.tables
        tax = self.tax
        party = self.parties[order.customer]
        term = self.company.customers[order.customer].payment_term
        amounts = [round_amount(q * p) for _, q, p, _ in lines]
        untaxed = sum(amounts)
        tax_amount = round_amount(untaxed * TAX_RATE)
        total = untaxed + tax_amount
        sequence = self._sequences(date)[kind]
        number = next(self.numbers[sequence.id])
        invoice = next(t['account_invoice'].ids)
        move = self._move(
            date, self.journal_revenue, f'account.invoice,{invoice}')
        reconciliation = None
        if kind == 'invoice' and order.index in self.completions:
            reconciliation = self._reconciliation(order)
        t['account_invoice'].add(
            id=invoice, company=self.company_id, type='out',
            currency=self.currency, journal=self.journal_revenue,
            party=party, invoice_address=self.addresses[order.customer],
            account=self.account_receivable, payment_term=self.terms[term],
            invoice_date=date, number=number,
            number_alnum=re.sub(r'[\W_]', '', number),
            number_digit=int(re.sub(r'\D', '', number)[-18:]),
            sequence=sequence.id,
            sequence_type_cache='credit_note' if total < 0 else 'invoice',
            state='paid' if reconciliation else 'posted',
            move=move, untaxed_amount_cache=untaxed,
            tax_amount_cache=tax_amount, total_amount_cache=total)
        line_ids = []
        for (product, quantity, unit_price, origin), amount in zip(
                lines, amounts):
            line = t['account_invoice_line'].add(
                invoice=invoice, invoice_type='out',
                company=self.company_id, currency=self.currency,
                type='line', product=self.company.products[product].id,
                unit=self.units[product], quantity=float(quantity),
                unit_price=unit_price, account=self.account_revenue,
                origin=origin, taxes_deductible_rate=1, correction=False)
            t['account_invoice_line-account_tax'].add(line=line, tax=tax.id)
            line_ids.append(line)
            move_line = self._move_line(move, self.account_revenue, -amount,
                origin=f'account.invoice.line,{line}')
            t['account_tax_line'].add(
                move_line=move_line, tax=tax.id, type='base', amount=amount)
        invoice_tax = t['account_invoice_tax'].add(
            invoice=invoice, description=tax.description, tax=tax.id,
            account=tax.invoice_account.id, base=untaxed, amount=tax_amount,
            manual=False)
        move_line = self._move_line(move, tax.invoice_account.id,
            -tax_amount, description=tax.description,
            origin=f'account.invoice.tax,{invoice_tax}')
        t['account_tax_line'].add(
            move_line=move_line, tax=tax.id, type='tax', amount=tax_amount)
        self._move_line(move, self.account_receivable, total, party=party,
            maturity_date=date + dt.timedelta(days=payment_days(term)),
            reconciliation=reconciliation)
        return invoice, line_ids

    def _sale(self, order):
        "Write the processed sale of the order; return its line ids"
        t = self.tables
        customer = order.customer
        untaxed = order.untaxed
        sale = t['sale_sale'].add(
            company=self.company_id, currency=self.currency,
            party=self.parties[customer],
            invoice_address=self.addresses[customer],
            shipment_address=self.addresses[customer],
            warehouse=self.warehouse.id,
            payment_term=self.terms[
                self.company.customers[customer].payment_term],
            number=next(self.numbers['sale']), sale_date=order.date,
            quotation_date=order.date, invoice_method='order',
            shipment_method='manual', state='processing',
            invoice_state=('paid' if order.index in self.completions
                else 'awaiting payment'),
            shipment_state='none', to_invoice=False, to_ship=True,
            untaxed_amount_cache=untaxed,
            tax_amount_cache=order.total - untaxed,
            total_amount_cache=order.total)
        lines = []
        for product, quantity, unit_price in order.lines:
            line = t['sale_line'].add(
                sale=sale, type='line',
                product=self.company.products[product].id,
                unit=self.units[product], quantity=float(quantity),
                unit_price=unit_price, actual_quantity=float(quantity),
                quantity_to_invoice=0.0, quantity_to_ship=float(quantity))
            t['sale_line-account_tax'].add(line=line, tax=self.tax.id)
            lines.append(line)
        return lines

    def _payment(self, date, order, invoice, amount):
        move = self._move(
            date, self.journal_payment, f'account.invoice,{invoice}')
        reconciliation = None
        if order.index in self.completions:
            reconciliation = (
                self.reconciliation_start + self.completions[order.index])
        line = self._move_line(move, self.account_receivable, -amount,
            party=self.parties[order.customer],
            reconciliation=reconciliation)
        self._move_line(move, self.account_cash, amount)
        self.tables['account_invoice-account_move_line'].add(
            invoice=invoice, line=line)

    def write(self, events):
        cursor = Transaction().connection.cursor()
        for name, size in _sizes(
                self.company.orders, self.completions).items():
            start = self.tables[name].reserve(cursor, size)
            if name == 'account_move_reconciliation':
                self.reconciliation_start = start
        invoices = {}  # order index: (invoice, line ids)
        for kind, date, order, *payment in events:
            if kind == 'invoice':
                lines = [(p, q, u, f'sale.line,{s}') for (p, q, u), s in zip(
                        order.lines, self._sale(order))]
                invoices[order.index] = self._invoice(
                    kind, date, order, lines)
            elif kind == 'credit':
                _, line_ids = invoices[order.index]
                _, index, quantity = order.credit
                product, _, unit_price = order.lines[index]
                self._invoice(kind, date, order, [(product, -quantity,
                            unit_price,
                            f'account.invoice.line,{line_ids[index]}')])
            else:
                invoice, _ = invoices[order.index]
                amount, _ = payment
                self._payment(date, order, invoice, amount)
            if len(self.tables['account_move_line'].rows) >= FLUSH:
                self.flush(cursor)
        self.flush(cursor)

    def flush(self, cursor):
        flush(self.tables, cursor)


def flush(tables, cursor):
    "Write the rows kept, parents first for the foreign keys"
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    user = Transaction().user
    for rows in tables.values():
        rows.flush(cursor, user, now)


def customers(config, company_id, customers, ids):
    """Write the parties of the planned customers with what the server's
    create writes for them: their code from the party sequence, pinyin,
    address, mobile and e-mail normalised by the contact mechanism, payment
    term and CRM record; ids maps each reference of the plan to its record
    id.  Return the party ids in the order of customers."""
    return _in_transaction(config,
        lambda: _write_customers(company_id, customers, ids))


def _write_customers(company_id, customers, ids):
    pool = Pool()
    Party = pool.get('party.party')
    Mechanism = pool.get('party.contact_mechanism')
    Customer = pool.get('crm.customer')
    cursor = Transaction().connection.cursor()
    emails = sum(1 for c in customers if c.email)
    tables = {name: Rows(name, columns)
        for name, columns in CUSTOMER_COLUMNS.items()}
    for name, rows in tables.items():
        rows.reserve(cursor, len(customers) + emails
            if name == 'party_contact_mechanism' else len(customers))
    sequence = Party._code_sequence()
    codes = sequence.get_many(len(customers))
    customer_defaults = Customer.default_get(
        ['lifecycle_stage', 'birthday_calendar'], with_rec_name=False)
    party_ids = []
    for customer, code in zip(customers, codes):
        party = tables['party_party'].add(active=True, code=code,
            name=customer.name, name_pinyin=name_pinyin(customer.name),
            **Party(code=code).compute_fields({'code'}))
        party_ids.append(party)
        tables['party_address'].add(active=True, party=party,
            street_unstructured=customer.street, city=customer.city,
            country=ids['country'],
            subdivision=ids['subdivisions'][customer.subdivision])
        tables['party_party_payment_term'].add(party=party,
            customer_payment_term=ids['terms'][customer.payment_term])
        tables['crm_customer'].add(active=True, party=party,
            company=company_id, customer_type=customer.customer_type,
            industry=ids['industries'].get(customer.industry),
            source=ids['sources'][customer.source], size=customer.size,
            owner=ids['employees'][customer.owner],
            team=ids['teams'][customer.team], vip=customer.vip,
            key_account=customer.key_account, **customer_defaults)
        for type_, value in [('mobile', customer.mobile),
                ('email', customer.email)]:
            if value:
                mechanism = Mechanism(party=None, type=type_, value=value)
                # Without a company in the context the number is read with
                # the CRM's default country (the demo company's) instead of
                # reading the company's address for each number
                with Transaction().set_context(company=None):
                    computed = mechanism.compute_fields({'type', 'value'})
                tables['party_contact_mechanism'].add(**{
                        'active': True, 'party': party, 'type': type_,
                        'value': value, **computed})
    flush(tables, cursor)
    return party_ids


def history(config, company, events):
    "Write the history of the events in one transaction"
    _in_transaction(config, lambda: Writer(company, events).write(events))


def _in_transaction(config, write):
    """Run write in one transaction, started again with the locks it asks
    for, as Tryton's dispatcher does; return its result"""
    extras = {}
    while True:
        with Transaction().start(config.database_name, config.user,
                context=config.context, **extras) as transaction:
            try:
                return write()
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
