"""Help → About: which Mangodesk this is and where it keeps its data and logs, so the IT
contact can be told exactly which file to send."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mangodesk import __version__
from mangodesk.paths import Paths


class AboutDialog(QDialog):
    """Version, data folder, log folder, and a button that opens the log folder."""

    opened_folder = Signal(str)  # the folder handed to the desktop (tests listen)

    def __init__(self, paths: Paths, parent: QWidget | None = None, *,
                 demo: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("about")
        self.setWindowTitle("About Mangodesk")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.paths = paths
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>Mangodesk {__version__}</b>" + (" — Demo — simulated" if demo
                                                           else ""), self)
        title.setObjectName("about_title")
        layout.addWidget(title)
        blurb = QLabel("Every guest gets a door code for exactly their stay.", self)
        blurb.setWordWrap(True)
        layout.addWidget(blurb)
        form = QFormLayout()
        self.version = self._value(__version__, "about_version")
        self.data_folder = self._value(str(paths.data_dir), "about_data")
        self.log_folder = self._value(str(paths.log_dir), "about_logs")
        form.addRow("Version:", self.version)
        form.addRow("Data folder:", self.data_folder)
        form.addRow("Log folder:", self.log_folder)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.open_logs = QPushButton("Open log folder", self)
        self.open_logs.setObjectName("open_log_folder")
        self.open_logs.setAutoDefault(False)
        self.open_logs.clicked.connect(self.open_log_folder)
        buttons.addButton(self.open_logs, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def _value(self, text: str, name: str) -> QLabel:
        label = QLabel(text, self)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def open_log_folder(self) -> None:
        """Open the log folder in the file manager (created first, so it always opens)."""
        folder = self.paths.log_dir
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        self.opened_folder.emit(str(folder))
