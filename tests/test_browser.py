# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of each module contains the full copyright notices and license terms.
"""Drive the web client (sao) in headless Chromium over the demo database.

The demo is prepared by ``scripts/demo.sh --no-serve``; the test serves a
copy of its database on a free port, logs in as admin with the language set
to Simplified Chinese, opens every entry of the CRM menu and fails on any
error dialog or JavaScript error. It saves the customer list as
var/screenshot-customers.png, or as the README's doc/screenshot-customers.png
with CRM_UPDATE_SCREENSHOT=1.

scripts/test.sh runs it in the SQLite pass only: it does not use the test
backend, so running it again with PostgreSQL would prove nothing new.
"""
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
DATABASE = 'crm_demo'
DEBIAN_PACKAGES = ['chromium', 'chromium-driver', 'fonts-wqy-microhei']
CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
CHROMIUM_ARGS = [
    '--headless=new', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--window-size=1280,800',
    '--lang=zh-CN', '--hide-scrollbars',
    ]
# Test runs leave the tree clean; CRM_UPDATE_SCREENSHOT=1 refreshes doc/
SCREENSHOT = ROOT / (
    'doc' if os.environ.get('CRM_UPDATE_SCREENSHOT') else 'var'
    ) / 'screenshot-customers.png'
TIMEOUT = 60
# The dialogs sao opens for a server error, a user error or a warning.
ERROR_DIALOGS = (
    '.error-dialog:visible, .warning-dialog:visible, '
    '.user-warning-dialog:visible, .message-dialog:visible')
CJK = re.compile('[\u4e00-\u9fff]')


def clean_environ():
    "The environment without the test run's Tryton settings"
    return {k: v for k, v in os.environ.items()
        if not k.startswith('TRYTOND_')
        and k not in {'DB_NAME', 'DB_CACHE', 'PGOPTIONS'}}


def run(args, what, timeout):
    try:
        result = subprocess.run(
            args, env=clean_environ(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exception:
        pytest.fail(f"{what} failed: {exception}", pytrace=False)
    if result.returncode:
        pytest.fail(
            f"{what} failed ({' '.join(map(str, args))}):\n"
            + result.stdout[-3000:], pytrace=False)


def ensure_debian_packages():
    "Install Chromium, its driver and a Chinese font when missing"
    missing = [p for p in DEBIAN_PACKAGES
        if subprocess.run(
            ['dpkg-query', '-W', '-f=${Status}', p],
            capture_output=True, text=True).stdout
        != 'install ok installed']
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ['sudo', '-n']
    what = f"installing {' '.join(missing)} with apt-get for the browser test"
    run(sudo + ['apt-get', 'update', '-q'], what, 600)
    run(sudo + ['apt-get', 'install', '-y', '-q', *missing], what, 900)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    "A copy of the demo database with admin's language set to zh_CN"
    ensure_debian_packages()
    run([ROOT / 'scripts' / 'demo.sh', '--no-serve'],
        "preparing the demo with scripts/demo.sh --no-serve", 1200)

    folder = tmp_path_factory.mktemp('browser')
    (folder / 'db').mkdir()
    database = folder / 'db' / f'{DATABASE}.sqlite'
    shutil.copy(ROOT / 'var' / 'db' / f'{DATABASE}.sqlite', database)
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE res_user SET language = "
            "(SELECT id FROM ir_lang WHERE code = 'zh_CN') "
            "WHERE login = 'admin'")
    return database


def xml_id(database, fs_id):
    "The id of the record crm_customer.<fs_id>"
    with sqlite3.connect(database) as connection:
        (db_id,), = connection.execute(
            "SELECT db_id FROM ir_model_data "
            "WHERE module = 'crm_customer' AND fs_id = ?", (fs_id,))
    return db_id


@pytest.fixture(scope='module')
def server(database):
    "The URL of a server on the database"
    folder = database.parent.parent
    port = free_port()
    # A second configuration file overrides the demo's database path and
    # port, so the test leaves the demo alone even while it is served.
    override = folder / 'trytond.conf'
    override.write_text(
        f"[database]\npath = {folder / 'db'}\n"
        f"[web]\nlisten = 127.0.0.1:{port}\n")
    log = folder / 'trytond.log'
    with open(log, 'w') as output:
        process = subprocess.Popen([
                Path(sys.executable).parent / 'trytond',
                '-c', ROOT / 'var' / 'trytond.conf', override,
                '-d', DATABASE],
            env=clean_environ(), stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), 1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "trytond did not start:\n" + log.read_text(),
                        pytrace=False)
                time.sleep(0.2)
        yield f'http://127.0.0.1:{port}/'
    finally:
        process.terminate()
        process.wait(TIMEOUT)


@pytest.fixture(scope='module')
def browser(server):
    "A Chromium logged into sao as admin"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    options.add_experimental_option(
        'prefs', {'intl.accept_languages': 'zh-CN,zh'})
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    # Both paths given, selenium uses Debian's driver and downloads nothing.
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(server + '#' + DATABASE)
        wait = WebDriverWait(driver, TIMEOUT)
        wait.until(ec.visibility_of_element_located(
                (By.CSS_SELECTOR, '.login-dialog #login'))).send_keys('admin')
        driver.find_element(
            By.CSS_SELECTOR, '.login-dialog button[type=submit]').click()
        password = (ROOT / 'var' / 'demo-password').read_text().strip()
        wait.until(ec.visibility_of_element_located(
                (By.CSS_SELECTOR, '.ask-dialog input[type=password]'))
            ).send_keys(password)
        driver.find_element(
            By.CSS_SELECTOR, '.ask-dialog .btn-primary').click()
        wait.until(lambda d: d.execute_script(
                "return Boolean(Sao.main_menu_screen)"
                " && jQuery('#menu tr').length > 0"))
        wait_idle(driver)
        yield driver
    finally:
        driver.quit()


def wait_idle(driver):
    "Wait until sao has no request under way, twice in a row"
    idle = ("return jQuery.active === 0"
        " && !jQuery('#processing').is(':visible')")
    for _ in range(2):
        time.sleep(0.3)
        WebDriverWait(driver, TIMEOUT).until(
            lambda d: d.execute_script(idle))


def check_no_error(driver, where):
    "Fail on an error dialog or a JavaScript error"
    dialogs = driver.execute_script(
        "return jQuery(arguments[0]).map("
        "function() { return jQuery(this).text(); }).get();",
        ERROR_DIALOGS)
    assert not dialogs, f"{where}: sao shows {dialogs}"
    errors = [e['message'] for e in driver.get_log('browser')
        if e['level'] == 'SEVERE']
    assert not errors, f"{where}: JavaScript errors {errors}"


def rpc(driver, method, *params):
    "Call the server with the browser's session"
    result = driver.execute_async_script("""
        const [method, params, done] = arguments;
        const session = Sao.Session.current_session;
        Sao.rpc({method: method, params: [...params, {}]}, session,
            true, false).then(done, error => done({error: error}));
        """, method, params)
    assert not (isinstance(result, dict) and 'error' in result), result
    return result


def crm_menu_entries(driver, database):
    "The entries with an action under the CRM menu, as the user sees them"
    menus = rpc(driver, 'model.ir.ui.menu.search_read',
        [('parent', 'child_of', [xml_id(database, 'menu_crm')])],
        0, None, None, ['complete_name', 'action'])
    return [m for m in menus if m['action']]


def open_menu_entry(driver, menu_id, name):
    "Open the entry as a click in the menu does"
    driver.execute_script("""
        Sao.Action.exec_keyword('tree_open',
            {model: 'ir.ui.menu', id: arguments[0]}, null, false);
        """, menu_id)
    try:
        wait_idle(driver)
    except TimeoutException:
        pytest.fail(f"{name} was still loading after {TIMEOUT} s")


def test_crm_menu_entries_open(browser, database):
    "Every entry of the CRM menu opens in Chinese without error"
    check_no_error(browser, "login")
    assert browser.execute_script(
        "return Sao.Session.current_session.context.language") == 'zh_CN'
    entries = crm_menu_entries(browser, database)
    assert entries, "the CRM menu has no entry"
    for entry in entries:
        name = entry['complete_name']
        tabs = browser.execute_script("return Sao.Tab.tabs.length")
        open_menu_entry(browser, entry['id'], name)
        check_no_error(browser, name)
        opened = browser.execute_script(
            "return Sao.Tab.tabs.length > arguments[0]"
            " || jQuery('.modal:visible').length > 0", tabs)
        assert opened, f"{name} opened neither a tab nor a dialog"
        close_wizard_dialog(browser, name)


def close_wizard_dialog(driver, name):
    """Cancel the wizard the entry may have opened, as its first button
    (Cancel, by Tryton's convention) does, so it hides nothing after"""
    visible = "return jQuery('.wizard-dialog:visible').length"
    if not driver.execute_script(visible):
        return
    driver.execute_script(
        "jQuery('.wizard-dialog:visible .modal-footer button')"
        ".first().click();")
    wait_idle(driver)
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: not d.execute_script(visible),
        f"{name}: the wizard did not close")
    check_no_error(driver, f"{name} (cancelled)")


def test_customer_list_screenshot(browser, database):
    "All customers in the list, and their screenshot"
    # The CRM menu unfolded, as a user would see it.
    (crm,) = rpc(browser, 'model.ir.ui.menu.read',
        [xml_id(database, 'menu_crm')], ['name'])
    browser.execute_script("""
        const name = arguments[0];
        return jQuery('#menu tr').filter(function() {
            return jQuery(this).text().trim() === name;
            }).find('.expander')[0];""", crm['name']).click()
    action = f"ir.action.act_window,{xml_id(database, 'act_customer_form')}"
    (menu,) = [m for m in crm_menu_entries(browser, database)
        if m['action'] == action]
    open_menu_entry(browser, menu['id'], menu['complete_name'])
    # The tab of the list without domain: all customers.
    browser.execute_script("""
        const container = Sao.Tab.tabs.get_current().screen.screen_container;
        const index = container.tab_domain.findIndex(
            domain => domain[1].length === 0);
        return container.tab.find('a[role=tab]')[index];""").click()
    wait_idle(browser)
    check_no_error(browser, "customer list")
    tab = browser.execute_script("""
        const tab = Sao.Tab.tabs.get_current();
        return {model: tab.screen.model_name,
            rows: tab.el.find('tbody tr').length,
            buttons: tab.el.find('.toolbar [title]').map(
                function() { return this.title; }).get().join(' ')};
        """)
    assert tab['model'] == 'crm.customer'
    assert tab['rows'] > 0, "the customer list is empty"
    assert CJK.search(tab['buttons']), (
        f"the toolbar is not in Chinese: {tab['buttons']}")
    # No blinking caret in the image.
    browser.execute_script("document.activeElement.blur()")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
