from django.urls import path

from tasks import views

app_name = "tasks"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:task_id>/delete", views.delete_task, name="delete"),
]
