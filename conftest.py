# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of each module contains the full copyright notices and license terms.
"""Collect Tryton scenario doctests (tests/scenario_*.rst) as pytest items.

pytest ignores the ``load_tests`` protocol Tryton uses, so each scenario (and
each configuration of its .json file) becomes its own item here, run with
Tryton's doctest set-up, tear-down, checker and option flags.
"""
import doctest
import json

import pytest


def pytest_addoption(parser):
    parser.addoption(
        '--allow-no-scenario', action='store_true',
        help="do not fail when no scenario was collected")


def pytest_collect_file(file_path, parent):
    if (file_path.suffix == '.rst'
            and file_path.name.startswith('scenario_')
            and file_path.parent.name == 'tests'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):

    def collect(self):
        config_path = self.path.with_suffix('.json')
        if config_path.exists():
            configs = json.loads(config_path.read_text(encoding='utf-8'))
        else:
            configs = [{}]
        text = self.path.read_text(encoding='utf-8')
        parser = doctest.DocTestParser()
        for index, globs in enumerate(configs):
            name = self.path.stem
            if len(configs) > 1:
                name += f'[{index}]'
            test = parser.get_doctest(
                text, dict(globs), name, str(self.path), 0)
            yield ScenarioItem.from_parent(self, name=name, doctest=test)


class ScenarioFailure(Exception):
    pass


def run_scenario(test):
    "Run the doctest test as Tryton runs its scenarios; raise on failure"
    from trytond import backend
    from trytond.tests.test_tryton import (
        STRIP_DECIMAL, doctest_checker, doctest_setup, doctest_teardown)
    optionflags = (
        doctest.REPORT_ONLY_FIRST_FAILURE
        | doctest.ELLIPSIS
        | doctest.IGNORE_EXCEPTION_DETAIL)
    if backend.name == 'sqlite':
        optionflags |= STRIP_DECIMAL
    runner = doctest.DocTestRunner(
        checker=doctest_checker, optionflags=optionflags)
    report = []
    doctest_setup(test)
    try:
        result = runner.run(test, out=report.append)
    finally:
        doctest_teardown(test)
    if result.failed:
        raise ScenarioFailure(''.join(report))
    if not result.attempted:
        raise ScenarioFailure("the scenario has no example")


class ScenarioItem(pytest.Item):

    def __init__(self, *, doctest, **kwargs):
        super().__init__(**kwargs)
        self.doctest = doctest

    def runtest(self):
        run_scenario(self.doctest)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.name}"


def pytest_collection_modifyitems(session, config, items):
    session.crm_scenario_count = sum(
        isinstance(i, ScenarioItem) for i in items)


def pytest_sessionfinish(session, exitstatus):
    if (not getattr(session, 'crm_scenario_count', 0)
            and not session.config.getoption('allow_no_scenario')
            and exitstatus == 0):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nno scenario_*.rst was collected: "
            "the run fails (--allow-no-scenario to accept it)")
