# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Handover: the customers of a salesperson and their open documents move to
one or several colleagues, each document following its customer."""
import heapq

from sql import Literal
from sql.aggregate import Count

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, inactive_records
from trytond.wizard import Button, StateTransition, StateView, Wizard


class HandoverError(UserError):
    pass


def distribute(customer_ids, employee_ids, method, counts=None):
    """Return {employee id: [customer ids]}.
    round_robin: the customers in turn, in the order of the employees;
    balanced: each customer to the employee with the fewest customers so
    far, counting those they already have (counts by employee id)."""
    shares = {e: [] for e in employee_ids}
    if method == 'balanced':
        counts = counts or {}
        heap = [(counts.get(e, 0), i, e) for i, e in enumerate(employee_ids)]
        heapq.heapify(heap)
        for customer_id in customer_ids:
            count, i, employee_id = heapq.heappop(heap)
            shares[employee_id].append(customer_id)
            heapq.heappush(heap, (count + 1, i, employee_id))
    else:
        for i, employee_id in enumerate(employee_ids):
            shares[employee_id] = list(customer_ids[i::len(employee_ids)])
    return shares


class Handover(Wizard):
    __name__ = 'crm.customer.handover'
    start = StateView(
        'crm.customer.handover.start',
        'crm_customer.customer_handover_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Hand Over", 'handover', 'tryton-ok', default=True),
            ])
    handover = StateTransition()

    def default_start(self, fields):
        values = {
            'company': Transaction().context.get('company'),
            'distribution': 'round_robin',
            }
        if self.model and self.model.__name__ == 'company.employee':
            if self.record:
                values['employee'] = self.record.id
                values['company'] = self.record.company.id
        elif self.model and self.model.__name__ == 'crm.customer':
            if self.records:
                values['customers'] = [c.id for c in self.records]
                values['company'] = self.records[0].company.id
                owners = {c.owner for c in self.records}
                if len(owners) == 1 and None not in owners:
                    values['employee'] = owners.pop().id
        return values

    @classmethod
    def documents_to_hand_over(cls):
        """Return (model name, employee field, link field, domain) of the
        open documents of the leaving employee to hand over.
        A document follows the customer its link field (a Many2One to
        crm.customer or to party.party) points to."""
        return [
            ('crm.activity', 'employee', 'customer',
                [('state', '=', 'planned')]),
            ('crm.activity', 'assignee', 'customer',
                [('state', '=', 'planned')]),
            ('crm.alert', 'owner', 'customer', [('state', '=', 'open')]),
            ]

    def transition_handover(self):
        pool = Pool()
        Customer = pool.get('crm.customer')
        start = self.start
        leaving = start.employee
        employees = list(start.employees)
        if not employees:
            raise HandoverError(gettext(
                    'crm_customer.msg_handover_no_employee'))
        if leaving in employees:
            raise HandoverError(gettext(
                    'crm_customer.msg_handover_same_employee',
                    employee=leaving.rec_name))
        with inactive_records():
            if start.customers:
                customers = sorted(start.customers, key=int)
                others = Customer.search([
                        ('id', 'in', list(map(int, customers))),
                        ['OR',
                            ('owner', '!=', leaving.id),
                            ('owner', '=', None),
                            ],
                        ], limit=1)
                if others:
                    other, = others
                    raise HandoverError(gettext(
                            'crm_customer.msg_handover_customer_owner',
                            customer=other.rec_name,
                            employee=leaving.rec_name))
            else:
                customers = Customer.search([
                        ('company', '=', start.company.id),
                        ('owner', '=', leaving.id),
                        ], order=[('id', 'ASC')])
        counts = (self.customer_counts(employees)
            if start.distribution == 'balanced' else None)
        shares = distribute(
            list(map(int, customers)), list(map(int, employees)),
            start.distribution, counts)

        # The documents move first, while the record rules that go through
        # their customer still let the user see them
        self.hand_over_documents(
            leaving, shares, everything=not start.customers)
        values = {'team': start.team.id} if start.team else {}
        to_write = []
        for employee_id, customer_ids in shares.items():
            if customer_ids:
                to_write.extend((Customer.browse(customer_ids),
                        {**values, 'owner': employee_id}))
        if to_write:
            with Transaction().set_context(crm_history_cause='handover'):
                Customer.write(*to_write)
        return 'end'

    def customer_counts(self, employees):
        "Return the number of active customers each employee owns"
        pool = Pool()
        Customer = pool.get('crm.customer')
        customer = Customer.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*customer.select(
                customer.owner, Count(customer.id),
                where=customer.owner.in_(list(map(int, employees)))
                & (customer.company == self.start.company.id)
                & (customer.active == Literal(True)),
                group_by=[customer.owner]))
        return dict(cursor)

    def hand_over_documents(self, leaving, shares, everything):
        """Give the open documents of the leaving employee to the new owner
        of their customer; with everything, share the others in turn"""
        pool = Pool()
        Customer = pool.get('crm.customer')
        parties = {
            e: list({c.party.id for c in Customer.browse(ids)})
            for e, ids in shares.items()}
        for model_name, field_name, link, domain in (
                self.documents_to_hand_over()):
            Model = pool.get(model_name)
            open_documents = [
                ('company', '=', self.start.company.id),
                (field_name, '=', leaving.id),
                *domain,
                ]
            by_customer = Model._fields[link].model_name == 'crm.customer'
            to_write = []
            for employee_id, customer_ids in shares.items():
                targets = customer_ids if by_customer else parties[employee_id]
                if not targets:
                    continue
                documents = Model.search(
                    open_documents + [(link, 'in', targets)])
                if documents:
                    to_write.extend((documents, {field_name: employee_id}))
            if to_write:
                Model.write(*to_write)
            if everything:
                # What is left is not about the customers handed over
                documents = Model.search(open_documents, order=[('id', 'ASC')])
                employee_ids = list(shares)
                to_write = []
                for i, employee_id in enumerate(employee_ids):
                    share = documents[i::len(employee_ids)]
                    if share:
                        to_write.extend((share, {field_name: employee_id}))
                if to_write:
                    Model.write(*to_write)


class HandoverStart(ModelView):
    __name__ = 'crm.customer.handover.start'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    employee = fields.Many2One(
        'company.employee', "Current Owner", required=True,
        domain=[('company', '=', Eval('company', -1))],
        help="The employee whose customers and open documents are "
        "handed over, for example because they leave.")
    customers = fields.Many2Many(
        'crm.customer', None, None, "Customers",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('owner', '=', Eval('employee', -1)),
            ],
        help="Leave empty to hand over all the customers of the employee "
        "and all their open documents.")
    employees = fields.Many2Many(
        'company.employee', None, None, "New Employees",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('id', '!=', Eval('employee', -1)),
            ],
        help="The employees who take the customers over.")
    distribution = fields.Selection([
            ('round_robin', "Round Robin"),
            ('balanced', "Balanced"),
            ], "Distribution", required=True,
        help="Round robin: the customers in turn, "
        "in the order of the employees.\n"
        "Balanced: each customer to the employee who has the fewest.")
    team = fields.Many2One(
        'crm.team', "New Sales Team",
        domain=[('company', '=', Eval('company', -1))],
        help="Leave empty to keep the team of the customers.")


class HandoverSaleOpportunity(metaclass=PoolMeta):
    __name__ = 'crm.customer.handover'

    @classmethod
    def documents_to_hand_over(cls):
        return super().documents_to_hand_over() + [
            ('sale.opportunity', 'employee', 'party',
                [('state', 'in', ['lead', 'opportunity'])]),
            ]
