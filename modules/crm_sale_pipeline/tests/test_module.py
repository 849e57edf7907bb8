# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.crm_customer.tests.tools import TranslationCheckMixin
from trytond.tests.test_tryton import ModuleTestCase


class CrmSalePipelineTestCase(
        TranslationCheckMixin, CompanyTestMixin, ModuleTestCase):
    "Test the crm_sale_pipeline module"
    module = 'crm_sale_pipeline'


del ModuleTestCase
