import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, CanvasRenderer]);

// Bar is one ECharts bar chart; it resizes with its box.
// A second series (extra) is drawn beside the first, in its own colour.
export default function Bar({ labels, values, name, testId, ariaLabel, extra }: { labels: string[]; values: number[]; name: string; testId: string; ariaLabel: string; extra?: { name: string; values: number[]; color: string } }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    chart.current = echarts.init(el.current!);
    const ro = new ResizeObserver(() => chart.current?.resize());
    ro.observe(el.current!);
    return () => { ro.disconnect(); chart.current?.dispose(); chart.current = null; };
  }, []);
  useEffect(() => {
    chart.current?.setOption({
      tooltip: {},
      legend: extra ? { top: 0 } : undefined,
      grid: { left: 40, right: 16, top: extra ? 32 : 16, bottom: 40 },
      xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate: labels.length > 5 ? 30 : 0 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name, data: values, itemStyle: { color: '#1677ff' } },
        ...(extra ? [{ type: 'bar', name: extra.name, data: extra.values, itemStyle: { color: extra.color } }] : [])],
    }, true);
  }, [labels, values, name, extra]);
  return <div ref={el} data-testid={testId} role="img" aria-label={ariaLabel} style={{ width: '100%', height: 260 }} />;
}
