# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""How the scripts open a database through proteus."""
import configparser
import os
import subprocess
import sys
import tempfile
from pathlib import Path


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


def create_database(name, modules):
    """Make the database and activate the modules (a list) when it is
    missing, on the server TRYTOND_DATABASE__URI names; return whether it
    was made"""
    from trytond import backend
    database = backend.Database().connect()
    if name in database.list():
        return False
    connection = database.get_connection(autocommit=True)
    try:
        database.create(connection, name)
    finally:
        database.put_connection(connection)
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as password:
        password.write('admin\n')
        password.flush()
        subprocess.run([Path(sys.executable).parent / 'trytond-admin',
                '-d', name, '--all', '-u', *modules,
                '--activate-dependencies', '--email', 'admin@localhost'],
            check=True, env=dict(os.environ, TRYTONPASSFILE=password.name))
    return True
