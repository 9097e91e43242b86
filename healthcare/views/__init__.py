"""Views, one module per area; re-exported here so `views.<name>` works as in the spec.

- home: the landing page that sends each role to its dashboard
- dashboards: doctor and patient dashboards
"""

from .dashboards import doctor_dashboard, patient_dashboard
from .home import home

__all__ = [
    "doctor_dashboard",
    "home",
    "patient_dashboard",
]
