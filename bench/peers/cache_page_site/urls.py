from django.urls import path

from cache_page_site import views

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:task_id>/delete", views.delete, name="delete"),
]
