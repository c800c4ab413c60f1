from django.db import connection, transaction
from django.http import JsonResponse

from shop import services
from shop.models import Order, Row


def n_plus_one(request):
    # The classic: one query for the orders, then one per order for its customer.
    return JsonResponse({"names": [o.customer.name for o in Order.objects.order_by("pk")]})


def via_service(request):
    return JsonResponse({"total": services.order_total(Order.objects.order_by("pk")[0].pk)})


def service_n_plus_one(request):
    return JsonResponse({"names": services.customer_names(list(Order.objects.order_by("pk")))})


def per_item_n_plus_one(request):
    # The DRF shape: per-item code of the team's (auto-traced) runs one query per order.
    orders = Order.objects.order_by("pk")
    return JsonResponse({"names": [services.customer_name(order) for order in orders]})


def duplicate(request):
    services.add_customer("taken")  # exists already: IntegrityError
    return JsonResponse({})


def raw(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s, 'secret-literal', 4242", ["secret-param"])
        cursor.execute("SELECT 1", None)
        cursor.execute("SELECT %s", [b"\x00\xff\xfe binary" * 100])
        cursor.execute("SELECT %s", ["odd \u202e unicode \U0001f600 \u00e9"])
        cursor.execute("SELECT 'odd \u202e unicode \U0001f600 \u00e9 secret'")
    return JsonResponse({})


def batch(request):
    with transaction.atomic(), connection.cursor() as cursor:  # one commit, not 100,000
        cursor.executemany("INSERT INTO shop_row (n, label) VALUES (%s, %s)",
                           [(i, "x") for i in range(100_000)])
        cursor.executemany("INSERT INTO shop_row (n, label) VALUES (%s, %s)",
                           ((i, "generated") for i in range(3)))
    return JsonResponse({"rows": Row.objects.count()})


def huge(request):
    values = ", ".join(f"'{i}-secret'" for i in range(60_000))  # ~1 MB of statement
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM shop_row WHERE label IN ({values})")
    return JsonResponse({})


async def async_view(request):
    order = await Order.objects.select_related("customer").aget(total=3)
    return JsonResponse({"total": order.total})
