# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Contract review: the departments (sales, finance, technical, legal...)
that review a quotation before it is confirmed. A review holds only for the
terms it reviewed: the lines, the total amount and the payment term."""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields,
    sequence_ordered)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .approval import ApprovalMixin
from .common import lines_fingerprint, rate_date
from .notify import group_users, notify


# The figures of the customer's 360° view a credit review shows
CREDIT_FIGURES = {
    'customer_receivable': 'receivable',
    'customer_overdue': 'overdue',
    }


class ContractReviewError(UserError):
    pass


class ReviewDepartment(
        DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    "A department that reviews the contracts of the sales"
    __name__ = 'crm.sale.review.department'

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True, translate=True)
    approving_group = fields.Many2One(
        'res.group', "Approving Group", required=True, ondelete='RESTRICT',
        help="The members of the group review the contracts "
        "for the department.")
    required = fields.Boolean(
        "Required",
        help="A sale the department reviews cannot be confirmed "
        "without its approval.\n"
        "Otherwise its review is advisory.")
    minimum_amount = Monetary(
        "Minimum Amount", currency='currency', digits='currency',
        domain=['OR',
            ('minimum_amount', '=', None),
            ('minimum_amount', '>=', 0),
            ],
        help="The department reviews only the sales whose total amount, "
        "in the currency of the company, reaches it.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    credit_review = fields.Boolean(
        "Credit Review",
        help="The reviewers see what the customer owes and "
        "what is overdue.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.company, Index.Range())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_required(cls):
        return True

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def reviewing(cls, sale):
        "Return the active departments of the company that review the sale"
        pool = Pool()
        Currency = pool.get('currency.currency')
        with without_check_access():
            departments = cls.search([('company', '=', sale.company.id)])
        if not departments:
            return []
        amount = sale.total_amount
        if sale.currency != sale.company.currency:
            with Transaction().set_context(date=rate_date(sale)):
                amount = Currency.compute(
                    sale.currency, amount, sale.company.currency)
        return [d for d in departments
            if d.minimum_amount is None or amount >= d.minimum_amount]


class ContractReview(ApprovalMixin, Workflow, ModelSQL, ModelView):
    "The review of a quotation's contract by a department"
    __name__ = 'crm.sale.contract_review'
    _message_prefix = 'crm_sale_pipeline.msg_contract_review_'
    _error = ContractReviewError

    department = fields.Many2One(
        'crm.sale.review.department', "Department", required=True,
        readonly=True, ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    total_amount = Monetary(
        "Total Amount", currency='currency', digits='currency',
        required=True, readonly=True,
        help="The total amount of the quotation when it was reviewed.")
    payment_term = fields.Many2One(
        'account.invoice.payment_term', "Payment Term", readonly=True,
        help="The payment term of the quotation when it was reviewed.")
    credit_review = fields.Function(
        fields.Boolean("Credit Review"), 'get_credit_review')
    company_currency = fields.Function(
        fields.Many2One('currency.currency', "Company Currency"),
        'get_company_currency')
    customer_receivable = fields.Function(Monetary(
            "Customer Receivable", currency='company_currency',
            digits='company_currency',
            states={
                'invisible': ~Eval('credit_review', False),
                },
            help="What the customer owes the company, due or not."),
        'get_customer_credit')
    customer_overdue = fields.Function(Monetary(
            "Customer Overdue", currency='company_currency',
            digits='company_currency',
            states={
                'invisible': ~Eval('credit_review', False),
                },
            help="What the customer owes the company and was due "
            "before today."),
        'get_customer_credit')

    def get_rec_name(self, name):
        return f'{self.sale.rec_name} - {self.department.rec_name}'

    def get_approving_group(self):
        return self.department.approving_group

    def get_message_values(self):
        return {
            **super().get_message_values(),
            'department': self.department.rec_name,
            }

    def get_credit_review(self, name):
        return self.department.credit_review

    def get_company_currency(self, name):
        return self.company.currency.id

    @classmethod
    def get_customer_credit(cls, reviews, names):
        "Read the 360° figures of the CRM customers of the sales at once"
        pool = Pool()
        Customer = pool.get('crm.customer')
        result = {n: dict.fromkeys(r.id for r in reviews) for n in names}
        shown = [r for r in reviews if r.department.credit_review]
        if not shown:
            return result
        # The reviewers see the figures even without access to customers
        with without_check_access():
            customers = Customer.search([
                    ('party', 'in', list({r.sale.party.id for r in shown})),
                    ('company', 'in', list({r.company.id for r in shown})),
                    ])
            figures = {
                (c['party'], c['company']): c
                for c in Customer.read(
                    [c.id for c in customers],
                    ['party', 'company']
                    + [CREDIT_FIGURES[n] for n in names])}
        for review in shown:
            customer = figures.get((review.sale.party.id, review.company.id))
            if customer:
                for name in names:
                    result[name][review.id] = customer[CREDIT_FIGURES[name]]
        return result


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    contract_reviews = fields.One2Many(
        'crm.sale.contract_review', 'sale', "Contract Reviews",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'request_contract_review': {
                    'invisible': Eval('state') != 'quotation',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('contract_reviews', None)
        return super().copy(sales, default=default)

    def contract_fingerprint(self):
        """Return the fingerprint of what a contract review covers: the
        lines, the total amount and the payment term"""
        return lines_fingerprint(
            self.currency.id, [line[1:] for line in self._priced_lines()],
            self.total_amount,
            self.payment_term.id if self.payment_term else None)

    def contract_review_states(self, departments, fingerprint):
        """Return per department the state of its last review of the
        terms of the fingerprint, None when it has none"""
        last = {}
        for review in sorted(
                self.contract_reviews,
                key=lambda r: (r.request_date, r.id)):
            if review.fingerprint == fingerprint:
                last[review.department] = review.state
        return {d: last.get(d) for d in departments}

    def check_contract_review(self):
        pool = Pool()
        Department = pool.get('crm.sale.review.department')
        required = [d for d in Department.reviewing(self) if d.required]
        if not required:
            return
        states = self.contract_review_states(
            required, self.contract_fingerprint())
        missing = [
            gettext(
                'crm_sale_pipeline.msg_contract_review_department_'
                + (state if state in {'requested', 'rejected'}
                    else 'missing'),
                department=department.rec_name)
            for department, state in states.items() if state != 'approved']
        if missing:
            raise ContractReviewError(gettext(
                    'crm_sale_pipeline.msg_sale_contract_review_required',
                    sale=self.rec_name,
                    departments=gettext(
                        'crm_sale_pipeline.msg_list_separator'
                        ).join(missing)))

    @classmethod
    def confirm(cls, sales):
        # In the transition, not the view: no client nor script confirms
        # a sale whose contract was not reviewed
        for sale in sales:
            if sale.state == 'quotation':
                sale.check_contract_review()
        super().confirm(sales)

    @classmethod
    @ModelView.button
    def request_contract_review(cls, sales):
        """Ask each department that reviews the sale and has not passed or
        is not reviewing its current terms; pending reviews of other terms
        are superseded"""
        pool = Pool()
        Department = pool.get('crm.sale.review.department')
        Review = pool.get('crm.sale.contract_review')
        reviews, superseded = [], []
        for sale in sales:
            departments = Department.reviewing(sale)
            if not departments:
                raise ContractReviewError(gettext(
                        'crm_sale_pipeline.msg_sale_contract_review_needless',
                        sale=sale.rec_name))
            fingerprint = sale.contract_fingerprint()
            superseded.extend(r for r in sale.contract_reviews
                if r.state == 'requested' and r.fingerprint != fingerprint)
            states = sale.contract_review_states(departments, fingerprint)
            for department, state in states.items():
                if state in {'requested', 'approved'}:
                    continue
                reviews.append(Review(
                        **Review.request_values(sale, fingerprint),
                        department=department,
                        currency=sale.currency,
                        total_amount=sale.total_amount,
                        payment_term=sale.payment_term,
                        ))
        with without_check_access():
            Review.supersede(superseded)
            Review.save(reviews)
        for review in reviews:
            notify(group_users(review.department.approving_group), review,
                review.sale, 'crm_sale_pipeline.msg_contract_review_requested',
                **review.get_message_values())


class Activity(metaclass=PoolMeta):
    __name__ = 'crm.activity'

    @classmethod
    def _get_documents(cls):
        return super()._get_documents() + ['crm.sale.contract_review']
