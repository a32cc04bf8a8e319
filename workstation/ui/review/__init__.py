"""The pharmacist's review window's parts (the window itself: workstation/ui/pharmacist.py)."""
