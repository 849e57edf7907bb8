# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from trytond.pool import Pool, PoolMeta


def crm_teams_of_user():
    pool = Pool()
    User = pool.get('res.user')
    Team = pool.get('crm.team')
    return Team.teams_of_employees(User.get_employees())


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.domain.help += (
            '\n- "employees" as list of employee ids from the current user'
            '\n- "crm_teams" as list of CRM team ids of the current user'
            '\n- "crm_managed_teams" as list of CRM team ids '
            'the current user manages')

    @classmethod
    def _get_cache_key(cls, model_names):
        pool = Pool()
        User = pool.get('res.user')
        key = super()._get_cache_key(model_names)
        return (*key, User.get_employees(), crm_teams_of_user())

    @classmethod
    def _get_context(cls, model_name):
        pool = Pool()
        User = pool.get('res.user')
        context = super()._get_context(model_name)
        teams, managed = crm_teams_of_user()
        context['employees'] = User.get_employees()
        context['crm_teams'] = teams
        context['crm_managed_teams'] = managed
        return context


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('crm.customer|cron_update_classification',
                    "Update Customer Tiers and Lifecycle"),
                ('crm.alert.rule|cron_generate_alerts',
                    "Generate CRM Alerts"),
                ])
