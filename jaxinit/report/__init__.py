"""Rendering a sweep: tables, JSON and CSV files, heatmaps and the HTML page, each written atomically.

Every function takes a :class:`jaxinit.SweepResult`; the result's ``summary()``,
``to_json()``, ``to_csv()`` and ``plot()`` call these.
"""

# tables
# writing a file whole or not at all
from jaxinit.report._atomic import save_figure as save_figure
from jaxinit.report._atomic import write_atomically as write_atomically

# data files
from jaxinit.report._data import json_document as json_document
from jaxinit.report._data import write_csv as write_csv
from jaxinit.report._data import write_json as write_json
from jaxinit.report._files import REPORT_FILES as REPORT_FILES
from jaxinit.report._files import summary_json as summary_json
from jaxinit.report._files import write_report as write_report

# the page and the whole folder
from jaxinit.report._html import html_page as html_page
from jaxinit.report._html import write_html as write_html

# figures
from jaxinit.report._plots import heatmaps as heatmaps
from jaxinit.report._plots import phase_diagram as phase_diagram
from jaxinit.report._tables import depth_fraction as depth_fraction
from jaxinit.report._tables import finite_or_none as finite_or_none
from jaxinit.report._tables import notes as notes
from jaxinit.report._tables import parameters as parameters
from jaxinit.report._tables import rows as rows
from jaxinit.report._tables import summary_rows as summary_rows
from jaxinit.report._tables import summary_table as summary_table
from jaxinit.report._tables import use_lines as use_lines
