#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Refresh modules/<module>/locale/zh_CN.po from the strings of the code.

    python scripts/update_translations.py MODULE [MODULE ...]

It activates the modules in a temporary SQLite database, reads every
translatable string Tryton knows for them, keeps the translations the .po
file already has and adds the new strings with an empty msgstr, then prints
how many are left to translate.
"""
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main(modules):
    directory = tempfile.mkdtemp()
    os.environ['TRYTOND_DATABASE__URI'] = 'sqlite://'
    os.environ['TRYTOND_DATABASE__PATH'] = directory
    os.environ['DB_NAME'] = 'translations'
    Path(directory, 'translations.sqlite').touch()
    from trytond.modules import get_module_info
    from trytond.pool import Pool
    from trytond.tests.test_tryton import activate_module
    from trytond.transaction import Transaction

    # The installed optional modules too, to translate what they bring
    extras = [e for m in modules
        for e in get_module_info(m).get('extras_depend', [])
        if importlib.util.find_spec(f'trytond.modules.{e}')]
    activate_module(sorted(set(modules + extras)))
    with Transaction().start('translations', 0):
        pool = Pool()
        Translation = pool.get('ir.translation')
        TranslationSet = pool.get('ir.translation.set', type='wizard')
        session_id, _, _ = TranslationSet.create()
        TranslationSet(session_id).transition_set_()
        for module in modules:
            content = Translation.translation_export('en', module)
            update(module, polib.pofile(content.decode('utf-8')))


def update(module, source):
    path = ROOT / 'modules' / module / 'locale' / 'zh_CN.po'
    path.parent.mkdir(exist_ok=True)
    known = {}
    if path.exists():
        known = {(e.msgctxt, e.msgid): e.msgstr
            for e in polib.pofile(str(path))}
    target = polib.POFile(wrapwidth=78)
    target.metadata = {'Content-Type': 'text/plain; charset=utf-8'}
    for entry in source:
        entry.msgstr = known.get((entry.msgctxt, entry.msgid), '')
        target.append(entry)
    target.sort()
    target.save(str(path))
    missing = sum(not e.msgstr for e in target)
    print(f"{path.relative_to(ROOT)}: {len(target)} strings, "
        f"{missing} to translate")


if __name__ == '__main__':
    main(sys.argv[1:] or sorted(
            p.name for p in (ROOT / 'modules').iterdir() if p.is_dir()))
