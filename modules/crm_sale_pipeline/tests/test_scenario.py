# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.

from trytond.tests.test_tryton import load_doc_tests


def load_tests(*args, **kwargs):
    "Run the scenarios with unittest; pytest collects them with conftest.py"
    return load_doc_tests(__name__, __file__, *args, **kwargs)
