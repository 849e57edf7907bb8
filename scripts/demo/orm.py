# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""The history through Tryton's own workflow: sales quoted, confirmed and
processed into invoices, invoices and credit notes posted in date order,
payments entered with the invoice's pay wizard."""
from proteus import Model, Wizard

BATCH = 200


def _sales(config, company, orders):
    "Create and process the sales; return the invoice of each order"
    Sale = Model.get('sale.sale', config=config)
    invoices = []
    for start in range(0, len(orders), BATCH):
        batch = orders[start:start + BATCH]
        sales = []
        for order in batch:
            sale = Sale(party=company.parties[order.customer])
            sale.sale_date = sale.quotation_date = order.date
            sale.shipment_method = 'manual'
            sale.invoice_method = 'order'
            for product, quantity, unit_price in order.lines:
                line = sale.lines.new()
                line.product = company.products[product]
                line.quantity = quantity
                line.unit_price = unit_price
            sales.append(sale)
        Sale.save(sales)
        Sale.click(sales, 'quote')
        Sale.click(sales, 'confirm')
        for sale in sales:
            sale.reload()
            invoice, = sale.invoices
            invoice.invoice_date = sale.sale_date
            invoices.append(invoice)
        Model.get('account.invoice', config=config).save(invoices[start:])
    return invoices


def _credit_note(config, order, invoice):
    Invoice = Model.get('account.invoice', config=config)
    date, index, quantity = order.credit
    original = invoice.lines[index]
    credit = Invoice(type='out', party=invoice.party, invoice_date=date)
    credit.payment_term = invoice.payment_term
    line = credit.lines.new()
    line.product = original.product
    line.quantity = -quantity
    line.unit_price = original.unit_price
    line.origin = original
    credit.save()
    return credit


def _pay(company, invoice, date, amount):
    pay = Wizard('account.invoice.pay', [invoice])
    pay.form.payment_method = company.payment_method
    pay.form.date = date
    pay.form.amount = amount
    pay.execute('choice')
    if pay.form_state == 'ask':
        pay.form.type = 'partial'
        pay.execute('pay')


def history(config, company, events):
    "Enter the history event by event; invoices are posted in date order"
    Invoice = Model.get('account.invoice', config=config)
    config.skip_warning = True
    invoices = _sales(config, company, company.orders)
    to_post = []

    def post():
        Invoice.click(to_post, 'post')
        to_post.clear()

    for kind, date, order, *payment in events:
        invoice = invoices[order.index]
        if kind == 'invoice':
            to_post.append(invoice)
        elif kind == 'credit':
            to_post.append(_credit_note(config, order, invoice))
        else:
            if to_post:
                post()
            amount, _ = payment
            _pay(company, invoice, date, amount)
        if len(to_post) >= BATCH:
            post()
    if to_post:
        post()
