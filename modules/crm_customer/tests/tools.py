# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
"""Test helpers the CRM modules share."""
import importlib
import os
import re

import polib

from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

_PLACEHOLDER = re.compile(r'%\((\w+)\)[sd]')


class TranslationCheckMixin:
    "Every string of the module has its Simplified Chinese translation"

    translation_language = 'zh_CN'

    def _po_entries(self):
        module = importlib.import_module(f'trytond.modules.{self.module}')
        path = os.path.join(
            module.__path__[0], 'locale', f'{self.translation_language}.po')
        self.assertTrue(os.path.exists(path), msg=f"{path} is missing")
        return polib.pofile(path)

    def test_translation_entries(self):
        "No translation is empty, fuzzy or loses a placeholder"
        for entry in self._po_entries():
            with self.subTest(msgctxt=entry.msgctxt):
                self.assertTrue(entry.msgstr.strip(), msg=entry.msgid)
                self.assertNotIn('fuzzy', entry.flags)
                self.assertEqual(
                    set(_PLACEHOLDER.findall(entry.msgstr)),
                    set(_PLACEHOLDER.findall(entry.msgid)),
                    msg=entry.msgid)

    @with_transaction()
    def test_translation_complete(self):
        "The translation covers every translatable string of the module"
        pool = Pool()
        Translation = pool.get('ir.translation')
        TranslationSet = pool.get('ir.translation.set', type='wizard')
        session_id, _, _ = TranslationSet.create()
        TranslationSet(session_id).transition_set_()
        content = Translation.translation_export('en', self.module)
        # None when the module has no string to translate yet
        source = polib.pofile(content.decode()) if content else []
        translated = {(e.msgctxt, e.msgid) for e in self._po_entries()}
        missing = sorted(
            f'{e.msgctxt}: {e.msgid}' for e in source
            if (e.msgctxt, e.msgid) not in translated)
        self.assertFalse(missing, msg="strings without translation "
            "(run scripts/update_translations.py, then translate)")
