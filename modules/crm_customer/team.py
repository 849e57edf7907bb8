# This file is part of the Tryton CRM suite.  The COPYRIGHT file at the top
# level of this module contains the full copyright notices and license terms.
from sql import Literal

from trytond.cache import Cache
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction


class _MembershipChangeMixin:
    "Forget the cached team membership when teams or their members change"
    __slots__ = ()

    @classmethod
    def create(cls, vlist):
        Pool().get('crm.team')._teams_cache.clear()
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        Pool().get('crm.team')._teams_cache.clear()
        super().write(*args)

    @classmethod
    def delete(cls, records):
        Pool().get('crm.team')._teams_cache.clear()
        super().delete(records)


class Team(_MembershipChangeMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'crm.team'

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    manager = fields.Many2One(
        'company.employee', "Manager",
        domain=[('company', '=', Eval('company', -1))],
        help="The employee who manages the team "
        "and receives its escalations.")
    members = fields.Many2Many(
        'crm.team-company.employee', 'team', 'employee', "Members",
        domain=[('company', '=', Eval('company', -1))])
    _teams_cache = Cache('crm.team.teams_of_employees', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def teams_of_employees(cls, employee_ids):
        """Return the ids of the active teams the employees belong to or
        manage, and of those they manage.
        The query bypasses access rules because they are built from it."""
        pool = Pool()
        TeamEmployee = pool.get('crm.team-company.employee')
        employee_ids = tuple(sorted(employee_ids))
        if not employee_ids:
            return (), ()
        result = cls._teams_cache.get(employee_ids)
        if result is not None:
            return result
        team = cls.__table__()
        member = TeamEmployee.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*team.select(
                team.id,
                where=team.manager.in_(list(employee_ids))
                & (team.active == Literal(True))))
        managed = tuple(sorted(r for r, in cursor))
        cursor.execute(*member.join(
                team, condition=member.team == team.id).select(
                team.id,
                where=member.employee.in_(list(employee_ids))
                & (team.active == Literal(True))))
        teams = tuple(sorted(set(managed) | {r for r, in cursor}))
        result = (teams, managed)
        cls._teams_cache.set(employee_ids, result)
        return result


class TeamEmployee(_MembershipChangeMixin, ModelSQL):
    __name__ = 'crm.team-company.employee'

    team = fields.Many2One(
        'crm.team', "Team", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')

