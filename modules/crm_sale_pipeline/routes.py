# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""The public address web forms post leads to (see lead_form.py)."""
import json

from trytond.protocols.wrappers import (
    HTTPStatus, Response, abort, allow_null_origin, set_max_request_size,
    with_pool, with_transaction)
from trytond.transaction import Transaction
from trytond.wsgi import app

from .lead_intake import LEAD_FIELDS

# Every field at its longest, its name and its quoting, with room to spare
MAX_REQUEST_SIZE = 4 * sum(LEAD_FIELDS.values())
RETRY_AFTER = 3600


def posted_values(request):
    """Return the text fields of a form-encoded or JSON body, or None when
    it is neither or a field is not text or repeated"""
    if request.mimetype == 'application/json':
        try:
            values = json.loads(request.get_data())
        except ValueError:
            return None
        if isinstance(values, dict) and all(
                isinstance(v, str) for v in values.values()):
            return values
        return None
    if any(len(v) > 1 for v in request.form.listvalues()):
        return None
    return request.form.to_dict()


def reply_language(pool, request):
    "The language of the browser if the server speaks it"
    Lang = pool.get('ir.lang')
    Configuration = pool.get('ir.configuration')
    codes = [l.code for l in Lang.search([('translatable', '=', True)])]
    return request.accept_languages.best_match(
        codes, default=Configuration.get_language())


@app.route('/<database_name>/crm_sale_pipeline/lead/<token>',
    methods={'POST'})
@allow_null_origin
@set_max_request_size(MAX_REQUEST_SIZE)
@with_pool
@with_transaction()
def lead_post(request, pool, token):
    try:
        Form = pool.get('crm.sale.lead.form')
    except KeyError:
        # The module is not activated in this database
        abort(HTTPStatus.NOT_FOUND)
    origin = request.headers.get('Origin')
    with Transaction().set_context(language=reply_language(pool, request)):
        status, reply = Form.post(
            token, posted_values(request),
            origin if origin != 'null' else None, request.remote_addr)
    response = Response(
        json.dumps(reply, ensure_ascii=False), status=status,
        content_type='application/json; charset=utf-8')
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        response.headers['Retry-After'] = str(RETRY_AFTER)
    return response
