from .models import *
from .services import make_order
