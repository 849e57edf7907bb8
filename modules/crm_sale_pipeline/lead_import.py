# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Leads from a CSV file: every row checked and its duplicates shown before
anything is written, then taken in through capture_leads."""
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.crm_customer.importing import (
    ENCODINGS, RowError, decode, read_rows)
from trytond.pool import Pool
from trytond.pyson import Eval, PYSONEncoder
from trytond.transaction import Transaction
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .lead_intake import LEAD_FIELDS, LeadError


def _line_error(line, text):
    return line, gettext('crm_customer.msg_import_line', line=line, error=text)


def read_leads(data, encoding='auto', source=None):
    """Return the codec that read the CSV data, its checked leads with their
    line and the errors as (line, text); source is the source of the rows
    that name none"""
    pool = Pool()
    Opportunity = pool.get('sale.opportunity')
    codec, leads, errors = None, [], []
    try:
        text, codec = decode(data, encoding)
        rows = read_rows(text)
        header = next(rows, None)
        if not header:
            raise RowError('msg_import_empty', line=1)
        line, columns = header
        columns = [c.strip().lower() for c in columns]
        for column in columns:
            if column not in LEAD_FIELDS:
                raise RowError(
                    'msg_import_column_unknown', line=line, column=column)
            if columns.count(column) > 1:
                raise RowError(
                    'msg_import_column_duplicate', line=line, column=column)
        for line, cells in rows:
            if len(cells) != len(columns):
                errors.append(_line_error(line, gettext(
                            'crm_customer.msg_import_cell_count',
                            cells=len(cells), columns=len(columns))))
                continue
            try:
                lead = Opportunity.lead_from_text(dict(zip(columns, cells)))
                if source and 'source' not in lead:
                    lead['source'] = source
                leads.append((line, Opportunity.check_lead(lead)))
            except LeadError as error:
                errors.append(_line_error(line, error.message))
    except RowError as error:
        errors.append(_line_error(error.line, gettext(
                    f'crm_customer.{error.message}', **error.variables)))
    return codec, leads, errors


class LeadImport(Wizard):
    "Import leads from CSV"
    __name__ = 'crm.sale.lead.import'
    start = StateView('crm.sale.lead.import.start',
        'crm_sale_pipeline.lead_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView('crm.sale.lead.import.preview',
        'crm_sale_pipeline.lead_import_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True,
                states={
                    'readonly': (Eval('error_count', 0) > 0)
                    | (Eval('lead_count', 0) == 0),
                    }),
            ])
    import_ = StateTransition()
    open_ = StateAction('sale_opportunity.act_opportunity_form')

    def _read(self):
        pool = Pool()
        Company = pool.get('company.company')
        company = Company(Transaction().context['company'])
        return company, read_leads(self.start.file,
            self.start.encoding, self.start.source)

    def default_preview(self, fields):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        company, (codec, leads, errors) = self._read()
        plan = Opportunity.plan_leads(company, [l for _, l in leads])
        duplicates = []
        for (line, _), (_, original) in zip(leads, plan):
            if original is None:
                continue
            if original < 0:
                text = gettext(
                    'crm_sale_pipeline.msg_lead_import_repeats_line',
                    other=leads[-original - 1][0])
            else:
                original = Opportunity(original)
                text = gettext('crm_sale_pipeline.msg_lead_import_repeats',
                    lead=original.rec_name, party=original.party.rec_name)
            duplicates.append(_line_error(line, text))
        return {
            'codec': codec,
            'lead_count': len(leads),
            'known_count': len([t for t, _ in plan if t > 0]),
            'duplicate_count': len(duplicates),
            'duplicates': '\n'.join(t for _, t in duplicates),
            'error_count': len(errors),
            'errors': '\n'.join(t for _, t in sorted(errors)),
            }

    def transition_import_(self):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        # The file is read again: the database may have changed since
        company, (_, leads, errors) = self._read()
        if errors:
            raise LeadError(errors[0][1])
        self.preview.leads = Opportunity.capture_leads(
            company, [l for _, l in leads], intake='import')
        return 'open_'

    def do_open_(self, action):
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', 'in', [l.id for l in self.preview.leads])])
        return action, {}


class LeadImportStart(ModelView):
    __name__ = 'crm.sale.lead.import.start'

    file = fields.Binary("File", required=True, filename='filename',
        help="A CSV file with a header line; "
        "the module's README lists its columns.")
    filename = fields.Char("File Name")
    encoding = fields.Selection(ENCODINGS, "Encoding", required=True)
    source = fields.Many2One(
        'crm.source', "Source",
        help="The source of the rows that name none.")

    @classmethod
    def default_encoding(cls):
        return 'auto'


class LeadImportPreview(ModelView):
    __name__ = 'crm.sale.lead.import.preview'

    codec = fields.Char("Read As", readonly=True)
    lead_count = fields.Integer("Leads", readonly=True)
    known_count = fields.Integer(
        "Known Parties", readonly=True,
        help="The leads whose phone number or e-mail a party has.")
    duplicate_count = fields.Integer(
        "Duplicates", readonly=True,
        help="The leads that repeat an open deal or an earlier row; "
        "they are imported flagged as duplicates.")
    duplicates = fields.Text("Duplicates", readonly=True)
    error_count = fields.Integer("Errors", readonly=True)
    errors = fields.Text("Errors", readonly=True)
    leads = fields.Many2Many(
        'sale.opportunity', None, None, "Leads", readonly=True)
