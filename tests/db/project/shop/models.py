from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100, unique=True)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    total = models.IntegerField()


class Row(models.Model):
    n = models.IntegerField()
    label = models.CharField(max_length=100, default="")
