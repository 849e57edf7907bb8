# This file is part of the Tryton CRM suite (GPL-3.0-or-later).
"""The demo company drawn from a seed: pure data, no database.

Everything that varies (names, numbers, dates, quantities, payments) is drawn
here from one ``random.Random(seed)``, so the ORM and the bulk writers build
the same history from the same plan."""
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

COMPANY_NAME = "上海华联贸易有限公司"
HISTORY_DAYS = 730
TAX_RATE = Decimal('0.13')
# (name, cumulative share, service level, payment term) of the value tiers
TIERS = [
    ("A", '0.8', 'premium', '60'),
    ("B", '0.95', 'priority', '30'),
    ("C", '1', 'standard', '30'),
    ]
# (name, kind, level, days, other values) of the alert rules
ALERT_RULES = [
    ("Visit key customers every 60 days", 'revisit', 'info', 60,
        {'tier': 0}),
    ("Birthday wishes", 'birthday', 'info', 3, {}),
    ("Festival greetings", 'festival', 'info', 7,
        {'festivals': ['spring_festival', 'mid_autumn_festival',
                'national_day']}),
    ("After-sales call", 'after_sales', 'info', 7, {}),
    ("Receivable overdue 30 days", 'overdue', 'critical', 30,
        {'escalate_days': 3}),
    ("No purchase for 180 days", 'churn', 'warning', 180, {}),
    ]
# One customer in DISTRIBUTOR_EVERY (the 8th, then every 500th) is a
# distributor that orders about twice a week
DISTRIBUTOR_EVERY = 500
DISTRIBUTOR_ORDERS = (200, 240)
CENT = Decimal('0.01')

# (code, name, type, cities)
SUBDIVISIONS = [
    ('CN-SH', "上海市", 'municipality', ["上海"]),
    ('CN-BJ', "北京市", 'municipality', ["北京"]),
    ('CN-GD', "广东省", 'province', ["广州", "深圳", "东莞", "佛山"]),
    ('CN-JS', "江苏省", 'province', ["南京", "苏州", "无锡", "常州"]),
    ('CN-ZJ', "浙江省", 'province', ["杭州", "宁波", "温州", "义乌"]),
    ('CN-SD', "山东省", 'province', ["济南", "青岛", "烟台"]),
    ('CN-SC', "四川省", 'province', ["成都", "绵阳"]),
    ('CN-HB', "湖北省", 'province', ["武汉", "宜昌"]),
    ]
STREETS = ["人民路", "中山路", "解放路", "建设路", "长江路", "南京路",
    "科技园路", "工业大道", "新华街", "和平路", "朝阳路", "滨江大道"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志文"
    "红玉兰斌辉鹏飞宇浩然欣怡子涵思雨晨阳佳琪梓萱俊杰博文")
BRANDS = ["恒达", "宏远", "鑫盛", "华通", "金源", "永信", "东方", "新世纪",
    "腾飞", "瑞丰", "中联", "顺发", "天成", "汇丰", "嘉禾", "博远", "万隆",
    "德润", "盛世", "聚力"]
MOBILE_PREFIXES = ['130', '131', '132', '135', '136', '137', '138', '139',
    '150', '151', '152', '158', '159', '177', '180', '186', '187', '189']
MAIL_DOMAINS = ['163.com', 'qq.com', '126.com', 'sina.com', 'outlook.com']

# (name, trade words for enterprise names)
INDUSTRIES = [
    ("制造业", ["机械制造", "电子科技", "五金制品"]),
    ("批发零售", ["商贸", "百货", "贸易"]),
    ("建筑工程", ["建设工程", "装饰工程"]),
    ("餐饮酒店", ["餐饮管理", "酒店管理"]),
    ("信息技术", ["信息技术", "网络科技", "软件"]),
    ("物流运输", ["物流", "供应链管理"]),
    ("教育培训", ["教育科技", "培训"]),
    ("医疗健康", ["医疗器械", "健康科技"]),
    ]
SOURCES = ["老客户介绍", "展会", "官网", "电话营销", "微信", "阿里巴巴", "地推"]
SIZES = ['micro', 'small', 'medium', 'large']

# (category, [(product, unit price in CNY)])
PRODUCTS = [
    ("办公设备", [
        ("激光打印机", '1899.00'), ("喷墨打印机", '699.00'),
        ("多功能一体机", '3299.00'), ("碎纸机", '459.00'),
        ("投影仪", '4599.00')]),
    ("电脑配件", [
        ("无线键鼠套装", '129.00'), ("27英寸显示器", '1299.00'),
        ("移动硬盘1TB", '399.00'), ("U盘64GB", '49.90'),
        ("笔记本电脑支架", '89.00')]),
    ("办公耗材", [
        ("A4复印纸(箱)", '135.00'), ("硒鼓", '268.00'),
        ("墨盒套装", '189.00'), ("中性笔(盒)", '24.50'),
        ("文件夹(包)", '36.80')]),
    ("办公家具", [
        ("人体工学椅", '1580.00'), ("升降办公桌", '2380.00'),
        ("文件柜", '860.00'), ("会议桌", '3680.00'),
        ("前台接待台", '4280.00')]),
    ]
PAYMENT_TERMS = ['cash', '30', '60']

# (team, region codes)
TEAMS = [
    ("华东销售部", ['CN-SH', 'CN-JS', 'CN-ZJ']),
    ("华南销售部", ['CN-GD', 'CN-SC', 'CN-HB']),
    ("华北销售部", ['CN-BJ', 'CN-SD']),
    ]
TEAM_MEMBERS = 4


def round_amount(value):
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass
class Customer:
    index: int
    name: str
    customer_type: str
    subdivision: str
    city: str
    street: str
    mobile: str
    email: str | None
    industry: int | None
    source: int
    size: str | None
    team: int
    owner: int
    vip: bool
    key_account: bool
    payment_term: str
    distributor: bool = False


@dataclass
class Order:
    "A sale invoiced on its date; a credit note and payments may follow"
    index: int
    customer: int
    date: dt.date
    # (product index, quantity, unit price)
    lines: list
    credit: tuple | None = None  # (date, line index, quantity)
    payments: list = field(default_factory=list)  # [(date, amount)]

    @property
    def untaxed(self):
        return sum(round_amount(q * p) for _, q, p in self.lines)

    @property
    def total(self):
        untaxed = self.untaxed
        return untaxed + round_amount(untaxed * TAX_RATE)

    def credit_total(self):
        _, line, quantity = self.credit
        untaxed = round_amount(-quantity * self.lines[line][2])
        return untaxed + round_amount(untaxed * TAX_RATE)


def products():
    "Yield (category index, name, list price, cost price) of each product"
    for category, (_, items) in enumerate(PRODUCTS):
        for name, price in items:
            price = Decimal(price)
            yield category, name, price, round_amount(price * Decimal('0.72'))


def employee_names(rng):
    count = len(TEAMS) * TEAM_MEMBERS
    names = set()
    while len(names) < count:
        names.add(person_name(rng))
    return sorted(names)


def person_name(rng):
    return rng.choice(SURNAMES) + ''.join(
        rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))


def mobile(rng):
    "A mobile number written the many ways people write them"
    prefix = rng.choice(MOBILE_PREFIXES)
    rest = f'{rng.randrange(10 ** 8):08d}'
    return rng.choice([
        f'{prefix}{rest}',
        f'{prefix}{rest}',
        f'+86 {prefix} {rest[:4]} {rest[4:]}',
        f'0086-{prefix}-{rest[:4]}-{rest[4:]}',
        f'{prefix}-{rest[:4]}-{rest[4:]}',
        f'+86{prefix}{rest}',
        ])


def customers(rng, count):
    result = []
    for index in range(count):
        code, _, _, cities = rng.choice(SUBDIVISIONS)
        city = rng.choice(cities)
        team = next(i for i, (_, codes) in enumerate(TEAMS) if code in codes)
        distributor = index % DISTRIBUTOR_EVERY == 7
        enterprise = distributor or rng.random() < 0.6
        if enterprise:
            industry = rng.randrange(len(INDUSTRIES))
            trade = rng.choice(INDUSTRIES[industry][1])
            name = f"{city}{rng.choice(BRANDS)}{trade}有限公司"
            size = rng.choice(SIZES)
            email = (f'sales{index}@example.cn'
                if rng.random() < 0.7 else None)
            payment_term = rng.choice(['30', '30', '60'])
        else:
            industry = None
            name = person_name(rng)
            size = None
            email = (f'u{rng.randrange(10 ** 6)}@{rng.choice(MAIL_DOMAINS)}'
                if rng.random() < 0.4 else None)
            payment_term = 'cash'
        result.append(Customer(
                index=index,
                name=name,
                customer_type='enterprise' if enterprise else 'individual',
                subdivision=code,
                city=city,
                street=f"{rng.choice(STREETS)}{rng.randint(1, 999)}号",
                mobile=mobile(rng),
                email=email,
                industry=industry,
                source=rng.randrange(len(SOURCES)),
                size=size,
                team=team,
                owner=team * TEAM_MEMBERS + rng.randrange(TEAM_MEMBERS),
                vip=rng.random() < 0.08,
                key_account=distributor or (
                    enterprise and rng.random() < 0.1),
                distributor=distributor,
                payment_term=payment_term,
                ))
    return result


def payment_days(term):
    return 0 if term == 'cash' else int(term)


def orders(rng, customers, today):
    "Return the orders of the customers in date order"
    first_day = today - dt.timedelta(days=HISTORY_DAYS)
    product_prices = [p for _, _, p, _ in products()]
    result = []
    for customer in customers:
        count = rng.randint(1, 5) if customer.customer_type == 'individual' \
            else rng.randint(2, 8)
        if customer.vip or customer.key_account:
            count += rng.randint(2, 6)
        if customer.distributor:
            count = rng.randint(*DISTRIBUTOR_ORDERS)
        start = first_day + dt.timedelta(
            days=rng.randrange(HISTORY_DAYS * 3 // 4))
        span = (today - start).days
        # how this customer pays: on time, late or hardly at all
        habit = rng.choices(['prompt', 'late', 'poor'], [6, 3, 1])[0]
        for day in sorted(rng.randrange(span + 1) for _ in range(count)):
            date = start + dt.timedelta(days=day)
            lines = []
            for product in rng.sample(
                    range(len(product_prices)), rng.randint(1, 4)):
                price = product_prices[product]
                quantity = rng.randint(1, 5) if price > 1000 \
                    else rng.randint(2, 40)
                discount = rng.choice(['1', '1', '0.95', '0.9'])
                lines.append((product, Decimal(quantity),
                        round_amount(price * Decimal(discount))))
            order = Order(
                index=0, customer=customer.index, date=date, lines=lines)
            if rng.random() < 0.06:
                line = rng.randrange(len(lines))
                quantity = max(1, int(lines[line][1]) // rng.choice([1, 2]))
                credit_date = date + dt.timedelta(days=rng.randint(3, 30))
                if credit_date <= today:
                    order.credit = (credit_date, line, Decimal(quantity))
            order.payments = payments(
                rng, habit, order.total, date,
                payment_days(customer.payment_term), today)
            result.append(order)
    result.sort(key=lambda o: (o.date, o.customer))
    for index, order in enumerate(result):
        order.index = index
    return result


def payments(rng, habit, total, date, term_days, today):
    "Return the [(date, amount)] paid on an invoice of the date"
    if habit == 'prompt':
        delay = rng.randint(-5, 3)
    elif habit == 'late':
        delay = rng.randint(10, 90)
    else:
        delay = rng.randint(30, 400)
    date = max(date + dt.timedelta(days=term_days + delay), date)
    if date > today:
        return []
    if habit != 'prompt' and rng.random() < 0.3:
        part = round_amount(total * Decimal(rng.randint(30, 70)) / 100)
        result = [(date, part)]
        rest = date + dt.timedelta(days=rng.randint(15, 120))
        if habit == 'late' and rest <= today:
            result.append((rest, total - part))
        return result
    return [(date, total)]


def events(orders):
    """Yield in date order ('invoice', date, order), ('credit', date, order)
    and ('payment', date, order, amount, rank); on a day, documents are
    posted before payments are received."""
    items = []
    for order in orders:
        items.append((order.date, 0, order.index, 0, ('invoice', order)))
        if order.credit:
            items.append(
                (order.credit[0], 0, order.index, 1, ('credit', order)))
        for rank, (date, amount) in enumerate(order.payments):
            items.append((date, 1, order.index, rank,
                    ('payment', order, amount, rank)))
    items.sort(key=lambda i: i[:4])
    for date, *_, event in items:
        yield (event[0], date, *event[1:])


def build(seed, count, today):
    rng = random.Random(seed)
    employees = employee_names(rng)
    plan_customers = customers(rng, count)
    return employees, plan_customers, orders(rng, plan_customers, today)
