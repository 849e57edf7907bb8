# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""How the scripts open a database through proteus."""
import configparser
import os


def connect(database, config_file=None):
    "Open database in this process with proteus; return its config"
    if config_file and 'TRYTOND_DATABASE_URI' not in os.environ:
        # proteus reads the database name as a URI: give it the server's
        # URI so the name is looked up where the configuration says
        trytond_conf = configparser.ConfigParser()
        trytond_conf.read(config_file)
        if uri := trytond_conf.get('database', 'uri', fallback=None):
            os.environ['TRYTOND_DATABASE_URI'] = uri
    from proteus import config
    return config.set_trytond(database, config_file=config_file)
