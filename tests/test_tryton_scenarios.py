# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of each module contains the full copyright notices and license terms.
"""Tryton's own sale and opportunity scenarios, run with every CRM module
active: with nothing of the CRM configured, Tryton's flows are unchanged."""
import doctest
from importlib import resources
from unittest import mock

import pytest

from conftest import run_scenario

# They bring sale and sale_opportunity with them
CRM_MODULES = ['crm_sale_pipeline', 'crm_sms_gateway']
SCENARIOS = [
    ('sale_opportunity', 'scenario_sale_opportunity.rst'),
    ('sale_opportunity', 'scenario_sale_opportunity_reporting.rst'),
    ('sale', 'scenario_sale.rst'),
    ('sale', 'scenario_sale_quotation.rst'),
    ]


@pytest.mark.parametrize('module, name', SCENARIOS,
    ids=[f'{m}/{n}' for m, n in SCENARIOS])
def test_tryton_scenario(module, name):
    from trytond.tests import tools
    activate_modules = tools.activate_modules
    replaced = []

    def activate_crm_modules(modules, *setup, **kwargs):
        # Naming the CRM modules alone shares the cached databases of the
        # CRM's own scenarios
        if isinstance(modules, str):
            modules = [modules]
        assert set(modules) <= {'sale', 'sale_opportunity'}, modules
        replaced.append(modules)
        return activate_modules(CRM_MODULES, *setup, **kwargs)

    path = resources.files(f'trytond.modules.{module}') / 'tests' / name
    test = doctest.DocTestParser().get_doctest(
        path.read_text(encoding='utf-8'), {}, f'{module}/{name}', str(path),
        0)
    with mock.patch.object(tools, 'activate_modules', activate_crm_modules):
        run_scenario(test)
    assert replaced, "the scenario did not activate its modules"
