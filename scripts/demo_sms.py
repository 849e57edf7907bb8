#!/usr/bin/env python3
# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""Point the demo's modem at a simulated one and have customers text it.

    python scripts/demo_sms.py --database DB --config trytond.conf
        --modem socket://127.0.0.1:8001 --control 127.0.0.1:8002

The modem record "Simulated modem" is created or updated to the URL; then
two demo customers and one unknown number send texts (an account query, an
opt-out, a greeting) that the gateway's scheduled job answers within a
minute, or at once with Run Now on the modem.
"""
import argparse

from connect import connect


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', dest='config_file')
    parser.add_argument('--modem', required=True,
        help="the simulated modem's socket:// URL")
    parser.add_argument('--control', required=True,
        help="the simulator's control address host:port")
    args = parser.parse_args()

    connect(args.database, args.config_file)
    from proteus import Model
    from trytond.modules.crm_sms_gateway.simulator import Control
    Company = Model.get('company.company')
    Mechanism = Model.get('party.contact_mechanism')
    Modem = Model.get('crm.sms.modem')

    company, = Company.find([], limit=1)
    modems = Modem.find([('name', '=', "Simulated modem")])
    modem = modems[0] if modems else Modem(
        name="Simulated modem", company=company)
    modem.port = args.modem
    modem.save()

    mobiles = Mechanism.find([('type', '=', 'mobile')], limit=2,
        order=[('id', 'ASC')])
    texts = [(m.value_compact, text) for m, text in zip(mobiles, [
                "查询", "TD"])]
    texts.append(('+8613900000000', "你好，请问有什么产品？"))
    control = Control(args.control)
    for number, text in texts:
        control.call('inject', sender=number, text=text)
    control.close()
    print(f"modem {modem.name} on {args.modem}: {len(texts)} texts "
        "waiting on its SIM")


if __name__ == '__main__':
    main()
