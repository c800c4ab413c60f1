from django.http import HttpRequest, HttpResponse

from shop.models import Order


def orders(request: HttpRequest) -> HttpResponse:
    Order.objects.create(item="book")
    return HttpResponse(str(Order.objects.count()))


def fail(request: HttpRequest) -> HttpResponse:
    raise ValueError("out of stock")
