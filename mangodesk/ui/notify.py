"""Telling the desk about alerts: the system tray when there is one, the window otherwise.

Widgets ask an :class:`AlertPresenter`; :func:`choose_presenter` picks the first that works
on this desktop (tray, then an in-window message bar), like qutebrowser's notification
fallbacks. Tests use the in-window presenter or their own recording one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QWidget,
)

from mangodesk import assets
from mangodesk.domain.types import AlertSeverity

SEVERITY_LOOK = {
    AlertSeverity.INFO: ("#1f4f8a", "#e4edf8"),
    AlertSeverity.WARNING: ("#8a5a00", "#fbf0d9"),
    AlertSeverity.ERROR: ("#a32020", "#fbe3e3"),
    AlertSeverity.CRITICAL: ("#ffffff", "#a32020"),
}


class AlertPresenter(Protocol):
    def present(self, title: str, message: str, severity: AlertSeverity) -> None: ...


class MessageBar(QFrame):
    """A calm bar at the top of the window: the latest alert, Show alerts, Dismiss."""

    show_alerts = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_bar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setObjectName("message_text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.open_button = QPushButton("Show alerts", self)
        self.open_button.clicked.connect(self.show_alerts)
        layout.addWidget(self.open_button)
        close = QPushButton("Dismiss", self)
        close.setObjectName("dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def present(self, title: str, message: str, severity: AlertSeverity) -> None:
        colour, background = SEVERITY_LOOK.get(severity, SEVERITY_LOOK[AlertSeverity.WARNING])
        self.setStyleSheet(f"#message_bar {{ background: {background}; border-radius: 4px; }}"
                           f" #message_text {{ color: {colour}; }}")
        self.label.setText(f"<b>{_escape(title)}</b> — {_escape(message)}")
        self.show()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


def app_icon(alerts: int = 0) -> QIcon:
    """The Mangodesk key icon from the shipped PNG sizes (drawn from resources/icons/
    mangodesk.svg); a red dot when alerts are open."""
    icon = QIcon()
    for size in assets.ICON_SIZES:
        pixmap = QPixmap()
        if not pixmap.loadFromData(assets.resource(f"icons/mangodesk-{size}.png").read_bytes()):
            continue
        if alerts:
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#c62828"))
            painter.drawEllipse(size * 9 // 16, size * 9 // 16, size * 7 // 16, size * 7 // 16)
            painter.end()
        icon.addPixmap(pixmap)
    return icon


class Tray(QObject):
    """The tray icon and its menu (Open, Pause automation, Quit); also a presenter."""

    open_requested = Signal()
    quit_requested = Signal()
    pause_toggled = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.icon.setToolTip("Mangodesk")
        self.menu = QMenu()
        open_action = QAction("Open Mangodesk", self.menu)
        open_action.triggered.connect(self.open_requested)
        self.pause_action = QAction("Pause automation", self.menu)
        self.pause_action.setCheckable(True)
        self.pause_action.toggled.connect(self.pause_toggled)
        quit_action = QAction("Quit", self.menu)
        quit_action.triggered.connect(self.quit_requested)
        self.menu.addAction(open_action)
        self.menu.addAction(self.pause_action)
        self.menu.addSeparator()
        self.menu.addAction(quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self.open_requested)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_alert_count(self, count: int) -> None:
        self.icon.setIcon(app_icon(count))
        self.icon.setToolTip("Mangodesk" if not count else
                             f"Mangodesk — {count} alert{'s' if count != 1 else ''}")

    def set_paused(self, paused: bool) -> None:
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)

    def present(self, title: str, message: str, severity: AlertSeverity) -> None:
        icon = (QSystemTrayIcon.MessageIcon.Critical
                if severity in (AlertSeverity.ERROR, AlertSeverity.CRITICAL)
                else QSystemTrayIcon.MessageIcon.Warning)
        self.icon.showMessage(title, message, icon, 15000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit()


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class FallbackPresenter:
    """Tries each presenter in order; the first one that is usable shows the alert."""

    def __init__(self, presenters: list[tuple[Callable[[], bool], AlertPresenter]]) -> None:
        self._presenters = presenters

    def present(self, title: str, message: str, severity: AlertSeverity) -> None:
        for usable, presenter in self._presenters:
            if usable():
                presenter.present(title, message, severity)
                return


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
